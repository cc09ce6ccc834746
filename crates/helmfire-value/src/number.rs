//! Go's `strconv.FormatFloat` for `float64`, byte for byte.
//!
//! Templates print floats through `fmt` (`%v` is `'g'` with the shortest precision, so `1000000`
//! prints `1e+06`), and the YAML and JSON encoders format floats through `strconv` too. Rust's own
//! float formatting computes the same correctly rounded digits (ties to even on exact halves, as Go's
//! `decimal.Round`); this module only lays those digits out the way Go does.

/// Decimal digits of |f| with the decimal point after `point` digits (`0.d1d2… × 10^point`).
/// No digits means zero.
struct Digits {
    digits: Vec<u8>,
    point: i32,
}

impl Digits {
    /// The shortest digits that read back as `f`.
    fn shortest(f: f64) -> Digits {
        if f == 0.0 {
            return Digits {
                digits: Vec::new(),
                point: 0,
            };
        }
        Digits::from_scientific(&format!("{:e}", f.abs()))
    }

    /// `count` (≥ 1) significant digits, correctly rounded.
    fn significant(f: f64, count: usize) -> Digits {
        if f == 0.0 {
            return Digits {
                digits: Vec::new(),
                point: 0,
            };
        }
        Digits::from_scientific(&format!("{:.*e}", count - 1, f.abs()))
    }

    /// Parses Rust's `1.2345e6` form.
    fn from_scientific(text: &str) -> Digits {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        // Go's decimal type never keeps trailing zeros; the layout pads where a format needs them.
        while digits.len() > 1 && digits.last() == Some(&b'0') {
            digits.pop();
        }
        let exponent: i32 = exponent.parse().unwrap_or(0);
        Digits {
            digits,
            point: exponent + 1,
        }
    }

    fn count(&self) -> i32 {
        self.digits.len() as i32
    }

    fn digit(&self, index: i32) -> u8 {
        if index >= 0 && index < self.count() {
            self.digits[index as usize]
        } else {
            b'0'
        }
    }
}

/// `strconv.FormatFloat(f, format, precision, 64)`. `format` is one of `e E f g G`; a negative
/// `precision` asks for the fewest digits that represent `f` exactly. Any other format gives
/// Go's `%` + format marker.
pub fn format_float(f: f64, format: char, precision: i32) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let negative = f.is_sign_negative();
    let shortest = precision < 0;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    match format {
        'e' | 'E' => {
            let digits;
            let precision = if shortest {
                digits = Digits::shortest(f);
                (digits.count() - 1).max(0)
            } else {
                digits = Digits::significant(f, precision as usize + 1);
                precision
            };
            format_e(&mut out, &digits, precision, format);
        }
        'f' => {
            if shortest {
                let digits = Digits::shortest(f);
                format_f(&mut out, &digits, (digits.count() - digits.point).max(0));
            } else {
                // Rust's fixed notation rounds exactly like Go's `decimal.Round(point + precision)`.
                out.push_str(&format!("{:.*}", precision as usize, f.abs()));
            }
        }
        'g' | 'G' => {
            let (digits, mut precision) = if shortest {
                let digits = Digits::shortest(f);
                let count = digits.count();
                (digits, count)
            } else {
                let precision = precision.max(1);
                (Digits::significant(f, precision as usize), precision)
            };
            let mut exponent_precision = precision;
            if exponent_precision > digits.count() && digits.count() >= digits.point {
                exponent_precision = digits.count();
            }
            if shortest {
                exponent_precision = 6;
            }
            let exponent = digits.point - 1;
            if exponent < -4 || exponent >= exponent_precision {
                if precision > digits.count() {
                    precision = digits.count();
                }
                let e = if format == 'g' { 'e' } else { 'E' };
                format_e(&mut out, &digits, precision - 1, e);
            } else {
                if precision > digits.point {
                    precision = digits.count();
                }
                format_f(&mut out, &digits, (precision - digits.point).max(0));
            }
        }
        other => {
            out.push('%');
            out.push(other);
        }
    }
    out
}

/// `d.ddddde±dd`
fn format_e(out: &mut String, digits: &Digits, precision: i32, e: char) {
    out.push(digits.digit(0) as char);
    if precision > 0 {
        out.push('.');
        for index in 1..=precision {
            out.push(digits.digit(index) as char);
        }
    }
    out.push(e);
    let exponent = if digits.count() == 0 { 0 } else { digits.point - 1 };
    out.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    out.push_str(&magnitude.to_string());
}

/// `ddd.ddd` with exactly `precision` fraction digits.
fn format_f(out: &mut String, digits: &Digits, precision: i32) {
    if digits.point > 0 {
        for index in 0..digits.point {
            out.push(digits.digit(index) as char);
        }
    } else {
        out.push('0');
    }
    if precision > 0 {
        out.push('.');
        for index in 1..=precision {
            out.push(digits.digit(digits.point + index - 1) as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn shortest_g_matches_go_percent_v() {
        // Expected strings from Go: fmt.Sprint(float64(x)).
        let cases = [
            (1000000.0, "1e+06"),
            (100000.0, "100000"),
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789.0, "1.23456789e+08"),
            (3.25, "3.25"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_float(input, 'g', -1), expected, "{input}");
        }
    }

    #[test]
    fn fixed_precision_formats_round_like_go() {
        assert_eq!(format_float(2.5, 'f', 0), "2");
        assert_eq!(format_float(0.5, 'f', 0), "0");
        assert_eq!(format_float(1.5, 'f', 0), "2");
        assert_eq!(format_float(0.125, 'f', 2), "0.12");
        assert_eq!(format_float(2.675, 'f', 2), "2.67");
        assert_eq!(format_float(3.25, 'f', 6), "3.250000");
        assert_eq!(format_float(-1.0, 'f', 1), "-1.0");
        assert_eq!(format_float(1e6, 'e', 6), "1.000000e+06");
        assert_eq!(format_float(0.0, 'e', 2), "0.00e+00");
        assert_eq!(format_float(123.456, 'e', -1), "1.23456e+02");
        assert_eq!(format_float(1e100, 'E', -1), "1E+100");
        assert_eq!(format_float(123.456, 'g', 2), "1.2e+02");
        assert_eq!(format_float(123.456, 'g', 5), "123.46");
        assert_eq!(format_float(100.0, 'g', 3), "100");
        assert_eq!(format_float(0.0, 'g', 3), "0");
        assert_eq!(format_float(1e-7, 'G', 3), "1E-07");
        assert_eq!(format_float(1.0, 'f', -1), "1");
        assert_eq!(format_float(0.000123, 'f', -1), "0.000123");
        assert_eq!(format_float(1e21, 'f', -1), "1000000000000000000000");
    }
}
