//! A minimal DER reader for the structures whose exact bytes matter (a certificate's
//! `TBSCertificate`, CMS signed attributes): each element with its header, as it was sent.

use time::OffsetDateTime;

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: its tag, its content and all its bytes (header included).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asn1Error(pub &'static str);

/// Reads the element at the start of `input`; returns it and what follows.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Asn1Error> {
    let (&tag, rest) = input.split_first().ok_or(Asn1Error("truncated: no tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(Asn1Error("multi-byte tags are not used here"));
    }
    let (&first, rest) = rest.split_first().ok_or(Asn1Error("truncated: no length"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(Asn1Error("bad length"));
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(Asn1Error("truncated: length beyond the input"));
    }
    let header = input.len() - rest.len();
    Ok((Tlv { tag, value: &rest[..len], raw: &input[..header + len] }, &rest[len..]))
}

/// Reads the element at the start of `input`, which must have tag `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), Asn1Error> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(Asn1Error("unexpected tag"));
    }
    Ok((tlv, rest))
}

/// The elements of a constructed value's content.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, Asn1Error> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// A small non-negative INTEGER.
pub(crate) fn small_uint(tlv: &Tlv<'_>) -> Result<u64, Asn1Error> {
    if tlv.tag != INTEGER || tlv.value.is_empty() || tlv.value.len() > 8 || tlv.value[0] & 0x80 != 0 {
        return Err(Asn1Error("expected a small non-negative integer"));
    }
    Ok(tlv.value.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// `YYYYMMDDHHMMSS[.f+]Z` (RFC 3161's GeneralizedTime, fractions allowed).
pub(crate) fn generalized_time(tlv: &Tlv<'_>) -> Result<OffsetDateTime, Asn1Error> {
    const BAD: Asn1Error = Asn1Error("bad GeneralizedTime");
    if tlv.tag != GENERALIZED_TIME {
        return Err(Asn1Error("expected a GeneralizedTime"));
    }
    let s = std::str::from_utf8(tlv.value).map_err(|_| BAD)?;
    let s = s.strip_suffix('Z').ok_or(BAD)?;
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => (w, f),
        Some(_) => return Err(BAD),
        None => (s, ""),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().map_err(|_| BAD);
    let month = time::Month::try_from(n(4..6)? as u8).map_err(|_| BAD)?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(6..8)? as u8).map_err(|_| BAD)?;
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse::<u32>().map_err(|_| BAD)? };
    let t = time::Time::from_hms_nano(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8, nanos).map_err(|_| BAD)?;
    Ok(time::PrimitiveDateTime::new(date, t).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_long_lengths_and_children() {
        let mut der = vec![0x30, 0x81, 0x86, 0x04, 0x81, 0x80];
        der.extend([7u8; 0x80]);
        der.extend([0x02, 0x01, 0x05]);
        let (seq, rest) = expect(&der, SEQUENCE).unwrap();
        assert!(rest.is_empty());
        let kids = children(seq.value).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].value, &[7u8; 0x80][..]);
        assert_eq!(small_uint(&kids[1]), Ok(5));
        assert!(read(&der[..10]).is_err(), "a truncated element is refused");
    }

    #[test]
    fn generalized_time_with_and_without_fractions() {
        let t = |s: &str| {
            let mut der = vec![GENERALIZED_TIME, s.len() as u8];
            der.extend(s.as_bytes());
            let (tlv, _) = read(&der).unwrap();
            generalized_time(&tlv).map(|t| (t.unix_timestamp(), t.nanosecond()))
        };
        assert_eq!(t("20250612120220Z"), Ok((1749729740, 0)));
        assert_eq!(t("20250612120220.25Z"), Ok((1749729740, 250_000_000)));
        assert_eq!(t("20250612120220"), Err(Asn1Error("bad GeneralizedTime")));
        assert_eq!(t("20251312120220Z"), Err(Asn1Error("bad GeneralizedTime")));
    }
}
