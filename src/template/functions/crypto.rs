//! Sprig's crypto and random helpers: uuidv4, randBytes (the certificate and key functions
//! are not implemented yet; see the module report).

use base64::Engine;

use super::{Functions, Param, arg_int};
use crate::template::error::FuncError;
use crate::value::Value;
use Param::*;

pub fn register(f: &mut Functions) {
    f.add("uuidv4", &[], None, |st, _| {
        let mut b = [0u8; 16];
        st.ctx.rng().fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(Value::from(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )))
    });
    f.add("randBytes", &[Int], None, |st, a| {
        let n = arg_int(&a[0]);
        if n < 0 {
            return Err(FuncError::msg("runtime error: makeslice: len out of range"));
        }
        let mut b = vec![0u8; (n as usize).min(64 << 20)];
        st.ctx.rng().fill(&mut b);
        Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(b)))
    });
}
