//! Sprig's integer and float math (numeric.go): int64 results via spf13/cast conversions,
//! `addf`/`subf`/`mulf`/`divf` through shopspring/decimal arithmetic, and conversions.

use super::{Functions, Param, arg_int, arg_str, runtime_error, to_float64, to_int64};
use crate::error::FuncError;
use crate::fmt::sprint_value;
use Param::*;
use helmfire_value::{IntType, Value};

fn i64v(i: i64) -> Result<Value, FuncError> {
    Ok(Value::int64(i))
}

fn f64v(f: f64) -> Result<Value, FuncError> {
    Ok(Value::Float(f))
}

/// A decimal `m × 10^e`, enough of shopspring/decimal for Sprig's float math.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Dec { m: 0, e: 0 });
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
        let frac_len = mant.split_once('.').map_or(0, |(_, fr)| fr.len()) as i32;
        let m: i128 = digits.parse().ok()?;
        Some(Dec {
            m: if neg { -m } else { m },
            e: exp - frac_len,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn rescale(self, e: i32) -> Option<Dec> {
        if e > self.e {
            return None;
        }
        let p = 10i128.checked_pow((self.e - e) as u32)?;
        Some(Dec {
            m: self.m.checked_mul(p)?,
            e,
        })
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let e = self.e.min(o.e);
        let (a, b) = (self.rescale(e)?, o.rescale(e)?);
        Some(Dec {
            m: a.m.checked_add(b.m)?,
            e,
        })
    }

    fn neg(self) -> Dec {
        Dec { m: -self.m, e: self.e }
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            e: self.e.checked_add(o.e)?,
        })
    }

    /// `DivRound(o, 16)`: 16 fractional digits, half away from zero.
    fn div(self, o: Dec) -> Option<Dec> {
        if o.m == 0 {
            return None;
        }
        // q = m1/m2 × 10^(e1 − e2 + 16), computed with one extra digit for rounding.
        let shift = self.e - o.e + 17;
        let (num, den) = if shift >= 0 {
            (self.m.checked_mul(10i128.checked_pow(shift as u32)?)?, o.m)
        } else {
            (self.m, o.m.checked_mul(10i128.checked_pow((-shift) as u32)?)?)
        };
        let q = num / den;
        let rounded = if q >= 0 { (q + 5) / 10 } else { (q - 5) / 10 };
        Some(Dec { m: rounded, e: -16 })
    }
}

fn decimal_op(
    a: &Value,
    rest: &[Value],
    op: fn(Dec, Dec) -> Option<Dec>,
    fallback: fn(f64, f64) -> f64,
    is_div: bool,
) -> Result<Value, FuncError> {
    let mut acc_f = to_float64(a);
    let mut acc = Dec::from_f64(acc_f);
    for x in rest {
        let xf = to_float64(x);
        if is_div && xf == 0.0 {
            return Err(FuncError::msg("decimal division by 0"));
        }
        acc = match (acc, Dec::from_f64(xf)) {
            (Some(p), Some(q)) => op(p, q),
            _ => None,
        };
        acc_f = match acc {
            Some(d) => d.to_f64(),
            None => fallback(acc_f, xf),
        };
        if acc.is_none() {
            acc = Dec::from_f64(acc_f);
        }
    }
    f64v(acc_f)
}

pub fn register(f: &mut Functions) {
    f.pure("add1", &[Any], None, |a| i64v(to_int64(&a[0]).wrapping_add(1)));
    f.pure("add", &[], Some(Any), |a| {
        i64v(a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))))
    });
    f.pure("sub", &[Any, Any], None, |a| {
        i64v(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))
    });
    f.pure("div", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(runtime_error("integer divide by zero"));
        }
        i64v(to_int64(&a[0]).wrapping_div(d))
    });
    f.pure("mod", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(runtime_error("integer divide by zero"));
        }
        i64v(to_int64(&a[0]).wrapping_rem(d))
    });
    f.pure("mul", &[Any], Some(Any), |a| {
        i64v(a[1..].iter().fold(to_int64(&a[0]), |s, v| s.wrapping_mul(to_int64(v))))
    });
    for name in ["max", "biggest"] {
        f.pure(name, &[Any], Some(Any), |a| {
            i64v(a.iter().map(to_int64).max().unwrap_or(0))
        });
    }
    f.pure("min", &[Any], Some(Any), |a| {
        i64v(a.iter().map(to_int64).min().unwrap_or(0))
    });
    f.add("randInt", &[Int, Int], None, |st, a| {
        let (min, max) = (arg_int(&a[0]), arg_int(&a[1]));
        let n = max.wrapping_sub(min);
        if n <= 0 {
            return Err(FuncError::msg("invalid argument to Intn"));
        }
        let r = st.ctx.rng().below(n as u64) as i64;
        Ok(super::go_int(r + min))
    });
    f.pure("add1f", &[Any], None, |a| {
        decimal_op(&a[0], &[Value::Int(1, IntType::Int)], Dec::add, |x, y| x + y, false)
    });
    f.pure("addf", &[], Some(Any), |a| {
        decimal_op(&Value::Float(0.0), &a, Dec::add, |x, y| x + y, false)
    });
    f.pure("subf", &[Any], Some(Any), |a| {
        decimal_op(&a[0], &a[1..], |x, y| x.add(y.neg()), |x, y| x - y, false)
    });
    f.pure("mulf", &[Any], Some(Any), |a| {
        decimal_op(&a[0], &a[1..], Dec::mul, |x, y| x * y, false)
    });
    f.pure("divf", &[Any], Some(Any), |a| {
        decimal_op(&a[0], &a[1..], Dec::div, |x, y| x / y, true)
    });
    f.pure("maxf", &[Any], Some(Any), |a| {
        f64v(a[1..].iter().fold(to_float64(&a[0]), |m, v| go_max(m, to_float64(v))))
    });
    f.pure("minf", &[Any], Some(Any), |a| {
        f64v(a[1..].iter().fold(to_float64(&a[0]), |m, v| go_min(m, to_float64(v))))
    });
    f.pure("floor", &[Any], None, |a| f64v(to_float64(&a[0]).floor()));
    f.pure("ceil", &[Any], None, |a| f64v(to_float64(&a[0]).ceil()));
    f.pure("round", &[Any, Int], Some(Float), |a| {
        let round_on = match a.get(2) {
            Some(Value::Float(x)) => *x,
            _ => 0.5,
        };
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(arg_int(&a[1]) as f64);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on { digit.ceil() } else { digit.floor() };
        f64v(r / pow)
    });
    f.pure("atoi", &[Str], None, |a| {
        let s = arg_str(&a[0]);
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        let ok = !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit());
        Ok(super::go_int(if ok { s.parse::<i64>().unwrap_or(0) } else { 0 }))
    });
    f.pure("int", &[Any], None, |a| Ok(super::go_int(to_int64(&a[0]))));
    f.pure("int64", &[Any], None, |a| i64v(to_int64(&a[0])));
    f.pure("float64", &[Any], None, |a| f64v(to_float64(&a[0])));
    f.pure("toDecimal", &[Any], None, |a| {
        let s = sprint_value(&a[0]);
        let (neg, body) = match s.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, s.strip_prefix('+').unwrap_or(&s)),
        };
        let v = if !body.is_empty() && body.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            i64::from_str_radix(body, 8)
                .map(|v| if neg { -v } else { v })
                .unwrap_or(0)
        } else {
            0
        };
        i64v(v)
    });
}

/// Go's `math.Max` (NaN wins, +0 > −0).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    a.max(b)
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    a.min(b)
}
