//! OPA builtins that the `regorus` interpreter lacks or answers differently, provided by Dossier
//! as engine extensions (an extension is found before a builtin of the same name).
//!
//! * `sprintf` formats as OPA does — with Go's `fmt` verbs, flags, width and precision, and Go's
//!   `%!d(float64=9.8)` for a value of the wrong kind instead of an error — because a policy's
//!   deny message must read the same in Dossier and in OPA, and an error would drop the deny.
//!   Go's rules are written out here (a small, exact subset of `fmt`), checked against OPA's own
//!   answers in `tests/opa/`.
//! * `crypto.md5`, `crypto.sha1`, `crypto.sha256`, `crypto.hmac.{md5,sha1,sha256,sha512}`,
//!   `crypto.hmac.equal` and `io.jwt.decode`, on the RustCrypto crates.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use hmac::{Mac, SimpleHmac};
use regorus::Value;

/// An extension: name, number of arguments, function.
pub(crate) type Builtin = (&'static str, u8, fn(Vec<Value>) -> anyhow::Result<Value>);

pub(crate) const BUILTINS: &[Builtin] = &[
    ("sprintf", 2, sprintf),
    ("crypto.md5", 1, |a| digest::<md5::Md5>(&a, "crypto.md5")),
    ("crypto.sha1", 1, |a| digest::<sha1::Sha1>(&a, "crypto.sha1")),
    ("crypto.sha256", 1, |a| digest::<sha2::Sha256>(&a, "crypto.sha256")),
    ("crypto.hmac.md5", 2, |a| hmac::<md5::Md5>(&a, "crypto.hmac.md5")),
    ("crypto.hmac.sha1", 2, |a| hmac::<sha1::Sha1>(&a, "crypto.hmac.sha1")),
    ("crypto.hmac.sha256", 2, |a| hmac::<sha2::Sha256>(&a, "crypto.hmac.sha256")),
    ("crypto.hmac.sha512", 2, |a| hmac::<sha2::Sha512>(&a, "crypto.hmac.sha512")),
    ("crypto.hmac.equal", 2, hmac_equal),
    ("io.jwt.decode", 1, jwt_decode),
    ("net.cidr_intersects", 2, cidr_intersects),
    ("glob.quote_meta", 1, glob_quote_meta),
    ("semver.is_valid", 1, semver_is_valid),
    ("upper", 1, |a| case(&a, "upper", char::to_uppercase)),
    ("lower", 1, |a| case(&a, "lower", char::to_lowercase)),
    ("time.parse_duration_ns", 1, parse_duration_ns),
];

/// `upper` and `lower` as Go's: a character whose case mapping is several characters (ß → SS)
/// stays as it is.
fn case<I: Iterator<Item = char> + ExactSizeIterator>(args: &[Value], function: &str, map: fn(char) -> I) -> anyhow::Result<Value> {
    let text = string_arg(args, 0, function)?;
    let mapped: String = text
        .chars()
        .map(|c| {
            let mut m = map(c);
            if m.len() == 1 {
                m.next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect();
    Ok(Value::from(mapped))
}

/// `time.parse_duration_ns`: Go's duration syntax (`1h30m`, `1.5s`, `-2us`), and OPA's `d` for
/// days, as integer nanoseconds.
fn parse_duration_ns(args: Vec<Value>) -> anyhow::Result<Value> {
    let text = string_arg(&args, 0, "time.parse_duration_ns")?;
    let bad = || anyhow::anyhow!("time.parse_duration_ns: {text:?} is not a duration such as 1h30m, 1.5s, 250ms or 2d");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(Value::from(0i64));
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_end..];
        total += number * unit;
    }
    let ns = if negative { -total } else { total };
    if !ns.is_finite() || ns.abs() > i64::MAX as f64 {
        return Err(anyhow::anyhow!("time.parse_duration_ns: {text:?} is longer than 292 years"));
    }
    Ok(Value::from(ns.round() as i64))
}

/// `semver.is_valid`: OPA accepts a leading `v` (`v1.2.3`), and any non-string is not valid.
fn semver_is_valid(args: Vec<Value>) -> anyhow::Result<Value> {
    let valid = match args.first() {
        Some(Value::String(s)) => semver::Version::parse(s.strip_prefix('v').unwrap_or(s)).is_ok(),
        _ => false,
    };
    Ok(Value::from(valid))
}

/// `glob.quote_meta`: every character special to OPA's globs escaped (`* ? \ [ ] { }`).
fn glob_quote_meta(args: Vec<Value>) -> anyhow::Result<Value> {
    let pattern = string_arg(&args, 0, "glob.quote_meta")?;
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if matches!(c, '*' | '?' | '\\' | '[' | ']' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

/// An IPv4 or IPv6 network as (address bits, prefix length, width), IPv4 mapped apart.
fn cidr(text: &str, function: &str) -> anyhow::Result<(u128, u32, u32)> {
    let (addr, len) = text.split_once('/').with_context(|| format!("{function}: {text:?} is not a CIDR such as 10.0.0.0/8"))?;
    let addr: std::net::IpAddr = addr.parse().with_context(|| format!("{function}: {addr:?} is not an IP address"))?;
    let (bits, width) = match addr {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        std::net::IpAddr::V6(a) => (u128::from(a), 128),
    };
    let len: u32 =
        len.parse().ok().filter(|l| *l <= width).with_context(|| format!("{function}: /{len} is not a prefix length of 0 to {width}"))?;
    Ok((bits, len, width))
}

/// `net.cidr_intersects(a, b)`: whether two networks share an address.
fn cidr_intersects(args: Vec<Value>) -> anyhow::Result<Value> {
    let a = cidr(string_arg(&args, 0, "net.cidr_intersects")?, "net.cidr_intersects")?;
    let b = cidr(string_arg(&args, 1, "net.cidr_intersects")?, "net.cidr_intersects")?;
    if a.2 != b.2 {
        return Ok(Value::from(false));
    }
    // Two networks intersect when they agree on the shorter prefix.
    let shorter = a.1.min(b.1);
    let shift = a.2 - shorter;
    let same = shorter == 0 || (a.0 >> shift) == (b.0 >> shift);
    Ok(Value::from(same))
}

fn string_arg<'a>(args: &'a [Value], i: usize, function: &str) -> anyhow::Result<&'a str> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.as_ref()),
        Some(other) => bail!("{function}: operand {} must be a string, not {}", i + 1, kind(other)),
        None => bail!("{function}: operand {} is missing", i + 1),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Set(_) => "set",
        Value::Object(_) => "object",
        Value::Undefined => "undefined",
    }
}

fn digest<D: sha2::Digest>(args: &[Value], function: &str) -> anyhow::Result<Value> {
    Ok(Value::from(hex::encode(D::digest(string_arg(args, 0, function)?.as_bytes()))))
}

fn hmac<D: sha2::Digest + hmac::digest::core_api::BlockSizeUser>(args: &[Value], function: &str) -> anyhow::Result<Value> {
    let message = string_arg(args, 0, function)?;
    let key = string_arg(args, 1, function)?;
    let mut mac = <SimpleHmac<D> as Mac>::new_from_slice(key.as_bytes()).context("an HMAC takes a key of any length")?;
    mac.update(message.as_bytes());
    Ok(Value::from(hex::encode(mac.finalize().into_bytes())))
}

fn hmac_equal(args: Vec<Value>) -> anyhow::Result<Value> {
    let (a, b) = (string_arg(&args, 0, "crypto.hmac.equal")?, string_arg(&args, 1, "crypto.hmac.equal")?);
    // Constant time in the length of the shorter input, as OPA's (Go's hmac.Equal) is.
    let same = a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    Ok(Value::from(same))
}

/// `io.jwt.decode(token)`: `[header, payload, signature (hex)]`, without verifying anything.
fn jwt_decode(args: Vec<Value>) -> anyhow::Result<Value> {
    let token = string_arg(&args, 0, "io.jwt.decode")?;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        bail!("io.jwt.decode: a JWS compact token has three parts separated by '.', this one has {}", parts.len());
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |part: &str, what: &str| -> anyhow::Result<Vec<u8>> {
        b64.decode(part.trim_end_matches('=')).with_context(|| format!("io.jwt.decode: the {what} is not base64url"))
    };
    let json = |bytes: Vec<u8>, what: &str| -> anyhow::Result<Value> {
        let text = String::from_utf8(bytes).with_context(|| format!("io.jwt.decode: the {what} is not UTF-8"))?;
        Value::from_json_str(&text).with_context(|| format!("io.jwt.decode: the {what} is not JSON"))
    };
    let header = json(decode(parts[0], "header")?, "header")?;
    let payload = json(decode(parts[1], "payload")?, "payload")?;
    let signature = hex::encode(decode(parts[2], "signature")?);
    Ok(Value::from(vec![header, payload, Value::from(signature)]))
}

/// A value as Go's `fmt` sees it after OPA converts the arguments of `sprintf`.
enum Arg {
    Int(i128),
    Float(f64),
    Str(String),
}

impl Arg {
    fn of(v: &Value) -> Arg {
        match v {
            Value::Number(n) => match n.as_i128() {
                Some(i) if n.is_integer() => Arg::Int(i),
                _ => Arg::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Arg::Str(s.to_string()),
            other => Arg::Str(rego_text(other)),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Arg::Int(_) => "int64",
            Arg::Float(_) => "float64",
            Arg::Str(_) => "string",
        }
    }
}

/// A value printed as Rego prints it (`["a", 1]`, `{"k": true}`, `set()`).
pub(crate) fn rego_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => match Arg::of(v) {
            Arg::Int(i) => i.to_string(),
            Arg::Float(f) => go_float(f, 'g', None),
            Arg::Str(s) => s,
        },
        Value::String(s) => serde_json::to_string(s.as_ref()).unwrap_or_default(),
        Value::Array(items) => format!("[{}]", items.iter().map(rego_text).collect::<Vec<_>>().join(", ")),
        Value::Set(items) if items.is_empty() => "set()".into(),
        Value::Set(items) => format!("{{{}}}", items.iter().map(rego_text).collect::<Vec<_>>().join(", ")),
        Value::Object(fields) => {
            format!("{{{}}}", fields.iter().map(|(k, v)| format!("{}: {}", rego_text(k), rego_text(v))).collect::<Vec<_>>().join(", "))
        }
        Value::Undefined => "undefined".into(),
    }
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn sprintf(args: Vec<Value>) -> anyhow::Result<Value> {
    let format = string_arg(&args, 0, "sprintf")?;
    let values: Vec<Arg> = match &args[1] {
        Value::Array(items) => items.iter().map(Arg::of).collect(),
        other => bail!("sprintf: operand 2 must be an array, not {}", kind(other)),
    };
    Ok(Value::from(go_sprintf(format, &values)))
}

/// Go's `fmt.Sprintf` over OPA's converted arguments.
fn go_sprintf(format: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize).min(1 << 16));
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        out.push_str(&format_one(verb, spec, arg));
    }
    if next < args.len() {
        let extra: Vec<String> =
            args[next..].iter().map(|a| format!("{}={}", a.type_name(), format_one('v', Spec::default(), a))).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn format_one(verb: char, spec: Spec, arg: &Arg) -> String {
    let body = match (verb, arg) {
        ('v' | 'd', Arg::Int(i)) => sign(spec, *i < 0, i.unsigned_abs().to_string()),
        ('x', Arg::Int(i)) => sign(spec, *i < 0, prefixed(spec.sharp, "0x", format!("{:x}", i.unsigned_abs()))),
        ('X', Arg::Int(i)) => sign(spec, *i < 0, prefixed(spec.sharp, "0X", format!("{:X}", i.unsigned_abs()))),
        ('o', Arg::Int(i)) => sign(spec, *i < 0, prefixed(spec.sharp, "0", format!("{:o}", i.unsigned_abs()))),
        ('b', Arg::Int(i)) => sign(spec, *i < 0, format!("{:b}", i.unsigned_abs())),
        ('c', Arg::Int(i)) => u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}').to_string(),
        ('v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F', Arg::Float(f)) => {
            let verb = if verb == 'v' { 'g' } else { verb };
            let text = go_float(f.abs(), verb, spec.precision);
            if f.is_nan() {
                return pad(spec, "NaN".into(), false);
            }
            sign(spec, f.is_sign_negative() && *f != 0.0 || (*f == 0.0 && f.is_sign_negative()), text)
        }
        ('v' | 's', Arg::Str(s)) => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('q', Arg::Str(s)) => serde_json::to_string(s).unwrap_or_default(),
        ('x', Arg::Str(s)) => hex::encode(s.as_bytes()),
        ('X', Arg::Str(s)) => hex::encode_upper(s.as_bytes()),
        (verb, arg) => {
            let shown = format_one('v', Spec::default(), arg);
            return format!("%!{verb}({}={shown})", arg.type_name());
        }
    };
    let numeric = matches!(arg, Arg::Int(_) | Arg::Float(_)) && verb != 'c';
    pad(spec, body, numeric)
}

fn prefixed(sharp: bool, prefix: &str, digits: String) -> String {
    if sharp {
        format!("{prefix}{digits}")
    } else {
        digits
    }
}

fn sign(spec: Spec, negative: bool, digits: String) -> String {
    let s = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    format!("{s}{digits}")
}

/// Pads to the width: spaces on the left (right with `-`), or zeros after the sign for numbers.
fn pad(spec: Spec, body: String, numeric: bool) -> String {
    let Some(width) = spec.width else { return body };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    if spec.minus {
        format!("{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_owned()),
            _ => (String::new(), body),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{body}", " ".repeat(fill))
    }
}

/// A non-negative float as Go's `strconv.FormatFloat(f, verb, precision, 64)` writes it, with
/// fmt's defaults (precision 6 for `e` and `f`, shortest for `g`).
fn go_float(f: f64, verb: char, precision: Option<usize>) -> String {
    if f.is_infinite() {
        return "Inf".to_owned();
    }
    match verb {
        'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), f),
        'e' | 'E' => go_exp(f, precision.unwrap_or(6), verb),
        _ => {
            // Shortest digits (or `precision` significant ones), then %e or %f by the exponent.
            let (digits, exp) = match precision {
                None => decimal_digits(f, None),
                Some(p) => decimal_digits(f, Some(p.max(1))),
            };
            let eprec = match precision {
                None => 6,
                Some(p) => {
                    let p = p.max(1);
                    if p > digits.len() && digits.len() as i32 > exp {
                        digits.len()
                    } else {
                        p
                    }
                }
            };
            let upper = verb == 'G';
            if exp < -4 || exp >= eprec as i32 {
                let mut m = digits[..1].to_owned();
                if digits.len() > 1 {
                    m.push('.');
                    m.push_str(&digits[1..]);
                }
                format!("{m}{}{}{:02}", if upper { 'E' } else { 'e' }, if exp < 0 { '-' } else { '+' }, exp.abs())
            } else if exp < 0 {
                format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
            } else if digits.len() as i32 > exp + 1 {
                format!("{}.{}", &digits[..(exp + 1) as usize], &digits[(exp + 1) as usize..])
            } else {
                format!("{digits}{}", "0".repeat((exp + 1) as usize - digits.len()))
            }
        }
    }
}

/// `%e` with `precision` digits after the point and a two-digit (at least) exponent, as Go.
fn go_exp(f: f64, precision: usize, verb: char) -> String {
    let s = format!("{:.*e}", precision, f);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!("{mantissa}{}{}{:02}", if verb == 'E' { 'E' } else { 'e' }, if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// The significant decimal digits of `f` (shortest that round-trips, or `significant` of them,
/// trailing zeros removed) and its decimal exponent: 9.8 → ("98", 0), 0.001 → ("1", -3).
fn decimal_digits(f: f64, significant: Option<usize>) -> (String, i32) {
    if f == 0.0 {
        return ("0".into(), 0);
    }
    let s = match significant {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p - 1, f),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_owned(), exp.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(format: &str, args: &[Arg]) -> String {
        go_sprintf(format, args)
    }

    #[test]
    fn sprintf_formats_as_go_does() {
        use Arg::*;
        assert_eq!(fmt("CVSS %d", &[Float(9.8)]), "CVSS %!d(float64=9.8)");
        assert_eq!(fmt("%v %v %v", &[Float(9.8), Int(3), Str("x".into())]), "9.8 3 x");
        assert_eq!(fmt("[%-4s]", &[Str("ab".into())]), "[ab  ]");
        assert_eq!(fmt("[%4s]", &[Str("ab".into())]), "[  ab]");
        assert_eq!(fmt("%f", &[Float(9.8)]), "9.800000");
        assert_eq!(fmt("%.2f", &[Float(9.876)]), "9.88");
        assert_eq!(fmt("%g %g %g", &[Float(9.8), Float(1e21), Float(0.00001)]), "9.8 1e+21 1e-05");
        assert_eq!(fmt("%v", &[Float(1234567.0)]), "1.234567e+06");
        assert_eq!(fmt("%v", &[Float(100000.5)]), "100000.5");
        assert_eq!(fmt("%e", &[Float(9.8)]), "9.800000e+00");
        assert_eq!(fmt("%05d|%+d|%x|%X|%o", &[Int(42), Int(7), Int(255), Int(255), Int(8)]), "00042|+7|ff|FF|10");
        assert_eq!(fmt("%s", &[Int(5)]), "%!s(int64=5)");
        assert_eq!(fmt("%d %d", &[Int(1)]), "1 %!d(MISSING)");
        assert_eq!(fmt("%d", &[Int(1), Int(2)]), "1%!(EXTRA int64=2)");
        assert_eq!(fmt("100%%", &[]), "100%");
        assert_eq!(fmt("%q", &[Str("a\"b".into())]), "\"a\\\"b\"");
        assert_eq!(fmt("%.3g", &[Float(1.0)]), "1");
        assert_eq!(fmt("%.3g", &[Float(1234.5)]), "1.23e+03");
    }

    #[test]
    fn values_other_than_numbers_and_strings_are_printed_as_rego_prints_them() {
        let v = Value::from_json_str(r#"{"a": [1, "x", true, null]}"#).unwrap();
        assert_eq!(rego_text(&v), r#"{"a": [1, "x", true, null]}"#);
    }

    #[test]
    fn digests_hmacs_and_jwt_decoding() {
        let s = |x: &str| Value::from(x);
        assert_eq!(
            digest::<sha2::Sha256>(&[s("abc")], "x").unwrap(),
            s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(digest::<md5::Md5>(&[s("abc")], "x").unwrap(), s("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            hmac::<sha2::Sha256>(&[s("message"), s("key")], "x").unwrap(),
            s("6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a")
        );
        assert_eq!(hmac_equal(vec![s("ab"), s("ab")]).unwrap(), Value::from(true));
        assert_eq!(hmac_equal(vec![s("ab"), s("ac")]).unwrap(), Value::from(false));
        // {"alg":"none"} . {"sub":"x"} . (empty signature)
        let decoded = jwt_decode(vec![s("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]).unwrap();
        assert_eq!(decoded, Value::from_json_str(r#"[{"alg": "none"}, {"sub": "x"}, ""]"#).unwrap());
        assert!(jwt_decode(vec![s("a.b")]).unwrap_err().to_string().contains("has 2"));
    }

    #[test]
    fn durations_and_case_as_go_reads_them() {
        let d = |t: &str| parse_duration_ns(vec![Value::from(t)]);
        assert_eq!(d("1h30m").unwrap(), Value::from(5_400_000_000_000i64));
        assert_eq!(d("1.5s").unwrap(), Value::from(1_500_000_000i64));
        assert_eq!(d("-2us").unwrap(), Value::from(-2_000i64));
        assert_eq!(d("1d").unwrap(), Value::from(86_400_000_000_000i64));
        assert!(d("1y").is_err() && d("").is_err() && d("h").is_err());
        assert_eq!(case(&[Value::from("straße")], "upper", char::to_uppercase).unwrap(), Value::from("STRAßE"));
        assert_eq!(case(&[Value::from("ÉCOLE")], "lower", char::to_lowercase).unwrap(), Value::from("école"));
    }

    #[test]
    fn networks_intersect_when_they_share_an_address() {
        let ask = |a: &str, b: &str| cidr_intersects(vec![Value::from(a), Value::from(b)]).unwrap();
        assert_eq!(ask("10.0.0.0/8", "10.1.0.0/16"), Value::from(true));
        assert_eq!(ask("10.0.0.0/16", "10.1.0.0/16"), Value::from(false));
        assert_eq!(ask("fd00::/8", "fd12::/16"), Value::from(true));
        assert_eq!(ask("0.0.0.0/0", "192.168.0.0/24"), Value::from(true));
        assert_eq!(ask("10.0.0.0/8", "fd00::/8"), Value::from(false));
        assert!(cidr_intersects(vec![Value::from("10.0.0.0/33"), Value::from("10.0.0.0/8")]).is_err());
    }
}
