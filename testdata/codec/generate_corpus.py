#!/usr/bin/env python3
"""Writes the generated part of the codec corpus: testdata/codec/yaml/gen-*.yaml.

Hand-written cases live next to them without the `gen-` prefix. Each file is one input that
Helm decodes with fromYaml (sigs.k8s.io/yaml) and re-encodes with toYaml, toYamlPretty, toJson,
toRawJson, toPrettyJson and toToml; the expected outputs are recorded from helm by
`HELMFIRE_RECORD=1 cargo test --test codec_helm`.
"""
import os
import re
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "yaml")


def dq(s):
    """A YAML double-quoted scalar for any string (escapes everything libyaml treats specially)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0 or o in (0x2028, 0x2029, 0xFEFF):
            out.append("\\u%04X" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def slug(s):
    s = re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()
    return s[:40] or "empty"


cases = {}


def add(name, text):
    name = "gen-" + name
    assert name not in cases, name
    cases[name] = text


# Strings that YAML 1.1 (or the emitter) treats specially: as values and as keys.
SPECIAL = [
    "", " ", "yes", "Yes", "YES", "no", "No", "on", "On", "off", "OFF", "y", "Y", "n", "N",
    "true", "True", "TRUE", "false", "False", "null", "Null", "NULL", "~", "yEs", "nO",
    "123", "-123", "+123", "0x1F", "0X1F", "0o17", "0777", "08", "09.5", "0b101", "-0b101", "1_000",
    "1e3", "1E3", "1.5", ".5", "-.5", "+.5", "1.", "1e", "e3", ".inf", ".Inf", "-.inf", ".nan",
    ".NaN", "1:20", "1:20:30.5", "-1:30", "1:60", "190:20:30", "12:30:00", "2001-12-14",
    "2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-14t21:59:43Z",
    "2001-02-30", "2001-1-2", "2002-12-14x", "1234-5-6", "<<", "=", "-", "--", "---", "...",
    "--- a", "... a", "-a", "- a", "?", "?a", "? a", ":", ":a", ": a", "a:", "a:b", "a: b",
    "a :b", "#a", "a#b", "a #b", "a# b", "&a", "*a", "!a", "|a", ">a", "'a", '"a', "%a",
    "@a", "`a", "a,b", "[a]", "{a}", "a[b]", "a{b}", "a?b", "a'b", 'a"b', "a\\b", "a|b",
    "a>b", "a&b", "a*b", "a!b", "a%b", "a@b", "a`b", " a", "a ", " a ", "a  b", "a\tb",
    "\ta", "a\t", "\u00a0a", "a\u00a0", "h\u00e9llo", "\u65e5\u672c\u8a9e", "\U0001F600",
    "\u2028", "a\u2028b", "a\u0085b", "\ufeffa", "a\ufeff", "\x01", "a\x7fb", "\x1b[0m",
    "\u00ad", "\ufffd", "\ufffe", "0", "-0", "00", "0.0", "1e400", "1e-400", "9223372036854775807",
    "9223372036854775808", "18446744073709551615", "18446744073709551616", "0x10000000000000000",
    "+", "+-1", "1-2", "1+2", "1__0", "_1", "1_", "0x_1F", ".", "..", "0.", "-.", "+.inf",
    "<", ">", "<b>&amp;</b>", "'quoted'", '"dq"', "tab\there", "C:\\path\\x", "%TAG", "!!str",
    "!", "&", "*", "|", ">", "@", "`", "a\\nb",
]
SPECIAL = list(dict.fromkeys(SPECIAL))
for s in SPECIAL:
    add("string-value-" + slug(repr(s)) + "-" + "%04x" % (zlib.crc32(s.encode()) % 65536), "v: %s\n" % dq(s))
for s in SPECIAL:
    add("string-key-" + slug(repr(s)) + "-" + "%04x" % (zlib.crc32(s.encode()) % 65536), "%s: v\n" % dq(s))

# Multi-line strings: literal block styles, chomping, indentation hints, fallbacks to quotes.
MULTI = [
    "a\nb", "a\n", "a\n\n", "a\n\n\n", "\na", "\n", "\n\n", " a\nb", "a\n b", "a \nb",
    "a\nb ", "a\n\nb", "a\r\nb", "a\rb", "a\n\tb", "\ta\nb", "a\n#b", "- a\n- b", "a: b\nc: d",
    "line1\nline2\nline3\n", "  indented\n  block\n", "x\n\u00e9\n", "x\n\x01\n",
    "x\u2028y\nz", "trailing space \nnext", "a\n \nb", "a\n  \n", "#!/bin/sh\necho hi\n",
    "{\n  \"json\": true\n}\n", "---\nkind: x\n", "...\n", "a" * 90 + "\n" + "b " * 50,
    "key: value\nlist:\n- a\n- b\n",
]
for i, s in enumerate(MULTI):
    add("multiline-%02d-%s" % (i, slug(s)), "v: %s\n" % dq(s))
    add("multiline-nested-%02d-%s" % (i, slug(s)), "a:\n  b:\n  - %s\n" % dq(s))

# Long strings around the 80-column fold, at several depths and in every quoting style.
WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
def words(n, sep=" "):
    return sep.join(WORDS[i % len(WORDS)] for i in range(n))
for n in (10, 12, 13, 14, 15, 16, 20, 30, 60):
    s = words(n)
    add("long-plain-%d" % n, "v: %s\n" % dq(s))
    add("long-plain-deep-%d" % n, "a:\n  b:\n    c:\n      d: %s\n" % dq(s))
    add("long-in-list-%d" % n, "l:\n- %s\n- - %s\n" % (dq(s), dq(s)))
    add("long-single-quoted-%d" % n, "v: %s\n" % dq("'" + s + ": x"))
    add("long-double-quoted-%d" % n, "v: %s\n" % dq(s + "\x01"))
    add("long-leading-space-%d" % n, "v: %s\n" % dq(" " + s))
    add("long-double-spaces-%d" % n, "v: %s\n" % dq(words(n, "  ")))
    add("long-key-%d" % n, "%s: v\n" % dq(s))
add("long-word-no-spaces", "v: %s\n" % dq("x" * 200))
add("long-key-over-128", "%s: v\n" % dq("k" * 129))
add("long-key-exactly-128", "%s: v\n" % dq("k" * 128))
add("long-key-over-128-map-value", "%s:\n  a: 1\n" % dq("k " * 70))
add("long-multiline-key", "%s: v\n" % dq("a\nb"))
add("long-unicode", "v: %s\n" % dq(" ".join(["\u00e9t\u00e9"] * 30)))
add("long-url", "v: %s\n" % dq("https://example.com/" + "a/b?c=d&e=f " * 10))

# Numbers: everything becomes float64 and prints back through JSON then YAML.
NUMBERS = [
    "0", "1", "-1", "1000000", "1e6", "1.0", "1.5", "-0.0", "0.1", "100.25", "1e20", "1e21",
    "1.5e300", "1e-6", "1e-7", "0.000001", "0.0000001", "123456789", "1234567890123",
    "9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
    "18446744073709551616", "0x1F", "0777", "0o17", "0b1010", "-0b11", "1_000_000", "+12",
    "012345678", "08", "3.14159265358979", "2.5e-5", "6.02e23", "1e+3", "5e-324", "1.7976931348623157e308",
    ".5", "-.5", "1.", "0x7FFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFF", "1e400", "-1e400",
]
for s in NUMBERS:
    add("number-" + slug(s) + "-" + "%04x" % (zlib.crc32(s.encode()) % 65536), "n: %s\nl: [%s]\n" % (s, s))
for s in ("1", "1.5", "0x10", "true", "yes", "null", "~", "2001-12-14", "1e3", "-1", "0.1"):
    add("scalar-key-" + slug(s) + "-%04x" % (zlib.crc32(s.encode()) % 65536), "%s: value\n" % s)

for name, text in {
    "bools-yaml11": "a: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: True\nh: FALSE\ni: yEs\n",
    "nulls": "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL\n",
    "special-floats-inf": "a: .inf\n",
    "special-floats-nan": "a: .nan\n",
    "special-floats-neg-inf": "a: -.inf\n",
}.items():
    add(name, text)

for name, text in cases.items():
    pass

os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    if f.startswith("gen-"):
        os.remove(os.path.join(OUT, f))
for name, text in sorted(cases.items()):
    with open(os.path.join(OUT, name + ".yaml"), "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
print(len(cases), "generated cases")
