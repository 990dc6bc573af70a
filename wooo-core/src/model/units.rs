//! Units: Kubernetes quantities (CPU, memory), durations written as `30s`, money with a currency, and typed
//! rates that keep per-hour and per-month amounts from being mixed.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Add, AddAssign, Neg, Sub};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a unit string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseUnitError(String);

impl ParseUnitError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes quantities
// ---------------------------------------------------------------------------------------------------------------

/// Parses a Kubernetes quantity (`500m`, `1.5`, `512Mi`, `1G`, `129e6`) into nano-units, rounding up like the
/// API server does when a value is finer than a nano-unit.
fn parse_quantity_nanos(s: &str) -> Result<u128, ParseUnitError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseUnitError::new("empty quantity"));
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    if body.starts_with('-') {
        return Err(ParseUnitError::new(format!("quantity `{s}` must not be negative")));
    }
    let num_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (number, suffix) = body.split_at(num_end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(ParseUnitError::new(format!("quantity `{s}` has no number")));
    }
    let digits: String = format!("{int_part}{frac_part}");
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| ParseUnitError::new(format!("quantity `{s}` is too large")))?
    };
    let frac_digits = frac_part.len() as i32;
    let (exp10, pow1024): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 1),
        "Mi" => (0, 2),
        "Gi" => (0, 3),
        "Ti" => (0, 4),
        "Pi" => (0, 5),
        "Ei" => (0, 6),
        other if other.starts_with(['e', 'E']) => {
            let exp: i32 = other[1..]
                .parse()
                .map_err(|_| ParseUnitError::new(format!("quantity `{s}` has a bad exponent `{other}`")))?;
            if !(-30..=30).contains(&exp) {
                return Err(ParseUnitError::new(format!("quantity `{s}` has an exponent out of range")));
            }
            (exp, 0)
        }
        other => {
            return Err(ParseUnitError::new(format!("quantity `{s}` has an unknown suffix `{other}`")));
        }
    };
    let too_large = || ParseUnitError::new(format!("quantity `{s}` is too large"));
    let mut value = mantissa;
    for _ in 0..pow1024 {
        value = value.checked_mul(1024).ok_or_else(too_large)?;
    }
    let scale = exp10 - frac_digits + 9;
    if scale >= 0 {
        let factor = 10u128.checked_pow(scale as u32).ok_or_else(too_large)?;
        value.checked_mul(factor).ok_or_else(too_large)
    } else {
        let divisor = 10u128.checked_pow((-scale) as u32).ok_or_else(too_large)?;
        Ok(value.div_ceil(divisor))
    }
}

/// An amount of CPU in millicores (`1` core = `1000m`). Written and read as a Kubernetes quantity.
///
/// ```
/// use wooo_core::model::Cpu;
/// assert_eq!("500m".parse::<Cpu>().unwrap(), Cpu::from_millis(500));
/// assert_eq!("1.5".parse::<Cpu>().unwrap().millis(), 1500);
/// assert_eq!(Cpu::from_millis(2000).to_string(), "2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cpu(u64);

impl Cpu {
    /// A CPU amount from millicores.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }
    /// A CPU amount from whole cores.
    pub const fn from_cores(cores: u64) -> Self {
        Self(cores * 1000)
    }
    /// Millicores.
    pub const fn millis(self) -> u64 {
        self.0
    }
    /// Cores, as a float (for cost and utilisation arithmetic).
    pub fn cores(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl FromStr for Cpu {
    type Err = ParseUnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let nanos = parse_quantity_nanos(s)?;
        let millis = nanos.div_ceil(1_000_000);
        u64::try_from(millis).map(Cpu).map_err(|_| ParseUnitError::new(format!("cpu `{s}` is too large")))
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) { write!(f, "{}", self.0 / 1000) } else { write!(f, "{}m", self.0) }
    }
}

/// An amount of memory in bytes. Written and read as a Kubernetes quantity (`512Mi`, `1Gi`, `1G`).
///
/// ```
/// use wooo_core::model::Memory;
/// assert_eq!("512Mi".parse::<Memory>().unwrap().bytes(), 512 * 1024 * 1024);
/// assert_eq!("1G".parse::<Memory>().unwrap().bytes(), 1_000_000_000);
/// assert_eq!(Memory::from_mib(1536).to_string(), "1536Mi");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Memory(u64);

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

impl Memory {
    /// A memory amount from bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Self(bytes)
    }
    /// A memory amount from mebibytes.
    pub const fn from_mib(mib: u64) -> Self {
        Self(mib * MIB)
    }
    /// A memory amount from gibibytes.
    pub const fn from_gib(gib: u64) -> Self {
        Self(gib * GIB)
    }
    /// Bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
    /// Gibibytes, as a float (for cost and utilisation arithmetic).
    pub fn gib(self) -> f64 {
        self.0 as f64 / GIB as f64
    }
}

impl FromStr for Memory {
    type Err = ParseUnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let nanos = parse_quantity_nanos(s)?;
        let bytes = nanos.div_ceil(1_000_000_000);
        u64::try_from(bytes).map(Memory).map_err(|_| ParseUnitError::new(format!("memory `{s}` is too large")))
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b != 0 && b.is_multiple_of(GIB) {
            write!(f, "{}Gi", b / GIB)
        } else if b != 0 && b.is_multiple_of(MIB) {
            write!(f, "{}Mi", b / MIB)
        } else if b != 0 && b.is_multiple_of(KIB) {
            write!(f, "{}Ki", b / KIB)
        } else {
            write!(f, "{b}")
        }
    }
}

macro_rules! quantity_serde {
    ($ty:ty, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Accept plain numbers too (`replicas: 2`-style YAML often writes `cpu: 1`).
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw {
                    Text(String),
                    Int(u64),
                    Float(f64),
                }
                let text = match Raw::deserialize(d)? {
                    Raw::Text(t) => t,
                    Raw::Int(i) => i.to_string(),
                    Raw::Float(x) => x.to_string(),
                };
                text.parse().map_err(|e: ParseUnitError| serde::de::Error::custom(format!("{}: {e}", $what)))
            }
        }
    };
}
quantity_serde!(Cpu, "cpu");
quantity_serde!(Memory, "memory");

// ---------------------------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------------------------

/// Parses a duration written as Go and Kubernetes write them: `250ms`, `30s`, `5m`, `1h30m`, `1.5s`.
///
/// ```
/// use std::time::Duration;
/// use wooo_core::model::parse_duration;
/// assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse_duration("30").is_err());
/// ```
///
/// # Errors
/// A [`ParseUnitError`] when the text is empty, has no unit, or has an unknown unit.
pub fn parse_duration(s: &str) -> Result<Duration, ParseUnitError> {
    let text = s.trim();
    if text.is_empty() {
        return Err(ParseUnitError::new("empty duration"));
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return Err(ParseUnitError::new(format!("duration `{s}`: expected a number at `{rest}`")));
        }
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let unit_nanos: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(ParseUnitError::new(format!("duration `{s}`: `{num}` needs a unit (ms, s, m, h)")));
            }
            other => {
                return Err(ParseUnitError::new(format!("duration `{s}`: unknown unit `{other}`")));
            }
        };
        let value: f64 = num.parse().map_err(|_| ParseUnitError::new(format!("duration `{s}`: bad number `{num}`")))?;
        total_nanos += (value * unit_nanos).round() as u128;
        rest = next;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000)
        .map_err(|_| ParseUnitError::new(format!("duration `{s}` is too large")))?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

/// Formats a duration the way [`parse_duration`] reads it (`1m30s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    if d.subsec_nanos() != 0 && d.as_secs() == 0 {
        let nanos = d.subsec_nanos();
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let mut out = String::new();
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let ms = d.subsec_millis();
    if ms > 0 {
        out.push_str(&format!("{s}.{ms:03}s"));
    } else if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// `#[serde(with = "wooo_core::model::duration_str")]` for a [`Duration`] written as `30s`.
pub mod duration_str {
    use super::{format_duration, parse_duration};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Serializes as `30s`.
    ///
    /// # Errors
    /// Whatever the serializer returns.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    /// Deserializes from `30s`, `1m30s`, `250ms`.
    ///
    /// # Errors
    /// When the text is not a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "wooo_core::model::opt_duration_str", default)]` for an `Option<Duration>` written as `30s`.
pub mod opt_duration_str {
    use super::{format_duration, parse_duration};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Serializes `Some` as `30s` and `None` as null.
    ///
    /// # Errors
    /// Whatever the serializer returns.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes from `30s` or null.
    ///
    /// # Errors
    /// When the text is not a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------------------------------

/// An ISO 4217 currency code (`USD`, `EUR`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollars, the currency of every public list price wooo ships.
    pub const USD: Currency = Currency(*b"USD");

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Constructed only from three ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::USD
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = ParseUnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(ParseUnitError::new(format!("currency `{s}` is not a three-letter upper-case ISO 4217 code")))
        }
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Why an operation on [`Money`] (or a [`Rate`]) failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts of two currencies were added, subtracted or compared.
    #[error("cannot combine {left} and {right} amounts")]
    CurrencyMismatch {
        /// The currency of the left-hand amount.
        left: Currency,
        /// The currency of the right-hand amount.
        right: Currency,
    },
    /// A float amount or quantity was NaN or infinite.
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    /// The result does not fit in the range of [`Money`] (about ±1.7 × 10²⁹ units).
    #[error("amount out of range")]
    Overflow,
}

/// `a × b / d` and its remainder for unsigned values, through a 256-bit product so that no intermediate
/// overflows; `None` when `d` is zero or the quotient does not fit in 128 bits.
fn mul_div_u128(a: u128, b: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 {
        return None;
    }
    if let Some(p) = a.checked_mul(b) {
        return Some((p / d, p % d));
    }
    let (hi, lo) = wide_mul(a, b);
    if hi >= d {
        return None;
    }
    // Long division of the 256-bit (hi, lo) by d, one bit at a time; `rem < d` holds before every step.
    let (mut rem, mut q) = (hi, 0u128);
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        // With the carry the true value is 2¹²⁸ + rem ≥ d, and its difference with d fits again.
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    Some((q, rem))
}

/// The 256-bit product of two `u128`s as (high, low) halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0, b1, b0) = (a >> 64, a & LOW, b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let lo = (p00 & LOW) | ((mid & LOW) << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `a × b / d` rounded to the nearest integer, halves away from zero (wooo's one rounding rule for money);
/// `None` when `d` is zero or the result does not fit.
fn mul_div_round(a: i128, b: i128, d: i128) -> Option<i128> {
    let negative = (a < 0) ^ (b < 0) ^ (d < 0);
    let divisor = d.unsigned_abs();
    let (q, r) = mul_div_u128(a.unsigned_abs(), b.unsigned_abs(), divisor)?;
    let q = if r >= divisor - r { q.checked_add(1)? } else { q };
    let q = i128::try_from(q).ok()?;
    Some(if negative { -q } else { q })
}

/// A non-negative or negative float quantity in millionths, rounded halves away from zero.
fn millionths(quantity: f64) -> Result<i128, MoneyError> {
    if !quantity.is_finite() {
        return Err(MoneyError::NotFinite(quantity));
    }
    let scaled = (quantity * 1e6).round();
    // 2¹⁰⁰ millionths is far beyond any count of nodes, replicas or GiB, and leaves room for the product.
    if scaled.abs() >= 2f64.powi(100) {
        return Err(MoneyError::Overflow);
    }
    Ok(scaled as i128)
}

/// An amount of money: an integer count of nano-units (10⁻⁹ of the currency's unit) and a currency.
///
/// Money never goes through floating point: sums are exact, products with integers, ratios
/// ([`Money::mul_ratio`]), durations ([`Rate::over`]) and splits ([`Money::split_proportionally`]) are computed in
/// integer arithmetic. **Rounding rule:** an operation whose exact result is finer than a nano-unit rounds once,
/// to the nearest nano-unit, halves away from zero; the same rule rounds decimal text with more than nine
/// decimals and the two decimals of [`Display`](fmt::Display).
///
/// **Currencies.** Amounts of different currencies never combine: [`Money::checked_add`] and
/// [`Money::checked_sub`] return [`MoneyError::CurrencyMismatch`], and comparison ([`PartialOrd`]) gives `None`,
/// so `<`, `>`, `<=` and `>=` are all false across currencies (there is no `Ord`). The `+` and `-` operators are for
/// amounts already known to share a currency (the parts of one report) and panic on a mismatch, like integer
/// overflow; use the checked forms wherever the currencies come from input.
///
/// ```
/// use wooo_core::model::{Currency, Money};
/// let a = Money::usd(96, 3); // 0.096 USD
/// assert_eq!(a.times(730).to_string(), "70.08 USD");
/// assert_eq!(a + a, Money::from_decimal_str("0.192", Currency::USD).unwrap());
/// let eur = Money::new(1, 0, "EUR".parse().unwrap());
/// assert!(a.checked_add(eur).is_err());
/// assert_eq!(a.partial_cmp(&eur), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    nanos: i128,
    currency: Currency,
}

impl Money {
    /// Zero in a currency.
    pub const fn zero(currency: Currency) -> Self {
        Self { nanos: 0, currency }
    }

    /// Zero US dollars.
    pub const fn zero_usd() -> Self {
        Self::zero(Currency::USD)
    }

    /// From nano-units (10⁻⁹ of the currency's unit).
    pub const fn from_nanos(nanos: i128, currency: Currency) -> Self {
        Self { nanos, currency }
    }

    /// `mantissa × 10^-scale` units of `currency`, exactly: `Money::new(96, 3, USD)` is 0.096 USD.
    ///
    /// # Panics
    /// When `scale` is above 9 (finer than a nano-unit); in a `const` context this is a compile error.
    pub const fn new(mantissa: i64, scale: u32, currency: Currency) -> Self {
        assert!(scale <= 9, "Money has nine decimals");
        Self { nanos: mantissa as i128 * 10i128.pow(9 - scale), currency }
    }

    /// `mantissa × 10^-scale` US dollars: `Money::usd(96, 3)` is 0.096 USD.
    ///
    /// # Panics
    /// As [`Money::new`].
    pub const fn usd(mantissa: i64, scale: u32) -> Self {
        Self::new(mantissa, scale, Currency::USD)
    }

    /// From a float amount, rounded to the nearest nano-unit (halves away from zero). Only for amounts that
    /// arrive as floats; prefer [`Money::from_decimal_str`] or [`Money::new`], which are exact.
    ///
    /// # Errors
    /// [`MoneyError::NotFinite`] for NaN or an infinity; [`MoneyError::Overflow`] beyond the range of money.
    pub fn from_f64(amount: f64, currency: Currency) -> Result<Self, MoneyError> {
        if !amount.is_finite() {
            return Err(MoneyError::NotFinite(amount));
        }
        // `round` rounds halves away from zero, as every other money operation does.
        let nanos = (amount * NANOS_PER_UNIT as f64).round();
        if nanos.abs() >= 2f64.powi(126) {
            return Err(MoneyError::Overflow);
        }
        Ok(Self { nanos: nanos as i128, currency })
    }

    /// Parses a decimal amount such as `0.096`, `-12`, `5.555555555555556e-05`, exactly (exponent form too),
    /// rounded to the nearest nano-unit when it has more than nine decimals.
    ///
    /// # Errors
    /// When the text is not a decimal number or is out of the range of money.
    pub fn from_decimal_str(s: &str, currency: Currency) -> Result<Self, ParseUnitError> {
        let bad = || ParseUnitError::new(format!("amount `{s}` is not a decimal number"));
        let t = s.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (number, exp) = match body.split_once(['e', 'E']) {
            Some((n, e)) => {
                let e: i32 = e.parse().map_err(|_| bad())?;
                // Beyond ±400 an amount is zero or out of range anyway; the bound keeps the digit string small.
                (n, e.clamp(-400, 400))
            }
            None => (body, 0),
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|c| c.is_ascii_digit())
            || !frac_part.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        // The value is digits × 10^shift nano-units.
        let mut digits = format!("{int_part}{frac_part}");
        let shift = exp + 9 - frac_part.len() as i32;
        let mut round_up = false;
        if shift >= 0 {
            digits.extend(std::iter::repeat_n('0', shift as usize));
        } else {
            let keep = digits.len().saturating_sub(shift.unsigned_abs() as usize);
            // Halves away from zero: the first dropped digit alone decides.
            round_up = digits.as_bytes().get(keep).is_some_and(|d| *d >= b'5')
                && (shift.unsigned_abs() as usize) <= digits.len();
            digits.truncate(keep);
        }
        let digits = digits.trim_start_matches('0');
        let magnitude: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| ParseUnitError::new(format!("amount `{s}` is out of range")))?
        };
        let magnitude = magnitude
            .checked_add(i128::from(round_up))
            .ok_or_else(|| ParseUnitError::new(format!("amount `{s}` is out of range")))?;
        Ok(Self { nanos: if neg { -magnitude } else { magnitude }, currency })
    }

    /// Nano-units.
    pub const fn nanos(self) -> i128 {
        self.nanos
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// The amount as a float, for ratios, evidence and charts (never for sums or products of money).
    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    /// Adds.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ; [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let nanos = self.nanos.checked_add(other.nanos).ok_or(MoneyError::Overflow)?;
        Ok(Money { nanos, ..self })
    }

    /// Subtracts.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ; [`MoneyError::Overflow`].
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let nanos = self.nanos.checked_sub(other.nanos).ok_or(MoneyError::Overflow)?;
        Ok(Money { nanos, ..self })
    }

    /// Sums amounts that must all be in `currency` (an empty iterator gives zero of it).
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] for the first amount of another currency; [`MoneyError::Overflow`].
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>, currency: Currency) -> Result<Money, MoneyError> {
        amounts.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// This amount `n` times, exactly.
    ///
    /// # Panics
    /// When the result is out of the range of money, like integer overflow.
    pub fn times(self, n: i64) -> Money {
        let nanos = self.nanos.checked_mul(i128::from(n)).expect("money out of range");
        Money { nanos, ..self }
    }

    /// `self × numer / denom`, computed exactly and rounded once to the nearest nano-unit (halves away from
    /// zero): `Money::usd(10, 2).mul_ratio(7, 3)` is 0.233333333 USD.
    ///
    /// # Panics
    /// When `denom` is zero or the result is out of the range of money, like integer division and overflow.
    pub fn mul_ratio(self, numer: i128, denom: i128) -> Money {
        assert!(denom != 0, "Money::mul_ratio by a zero denominator");
        let nanos = mul_div_round(self.nanos, numer, denom).expect("money out of range");
        Money { nanos, ..self }
    }

    /// This amount times a quantity given as a float (average replicas, node counts, GiB): the quantity is read
    /// to a millionth (rounded halves away from zero), then the product is exact and rounded once to the nano.
    ///
    /// # Errors
    /// [`MoneyError::NotFinite`] for a NaN or infinite quantity; [`MoneyError::Overflow`].
    pub fn mul_quantity(self, quantity: f64) -> Result<Money, MoneyError> {
        let micro = millionths(quantity)?;
        let nanos = mul_div_round(self.nanos, micro, 1_000_000).ok_or(MoneyError::Overflow)?;
        Ok(Money { nanos, ..self })
    }

    /// The larger of zero and this amount.
    pub fn max_zero(self) -> Money {
        Money { nanos: self.nanos.max(0), ..self }
    }

    /// Full precision decimal text, trailing zeros trimmed (`0.096`, `12`).
    pub fn decimal_string(self) -> String {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let int = abs / NANOS_PER_UNIT as u128;
        let frac = abs % NANOS_PER_UNIT as u128;
        if frac == 0 {
            format!("{sign}{int}")
        } else {
            let f = format!("{frac:09}");
            format!("{sign}{int}.{}", f.trim_end_matches('0'))
        }
    }

    /// Decimal text with exactly `places` decimals (at most nine), rounded halves away from zero:
    /// `Money::usd(5355, 5).to_fixed(4)` is `0.0536`.
    pub fn to_fixed(self, places: u32) -> String {
        let places = places.min(9);
        let scaled = mul_div_round(self.nanos, 1, 10i128.pow(9 - places)).unwrap_or(0);
        let sign = if scaled < 0 { "-" } else { "" };
        let abs = scaled.unsigned_abs();
        let unit = 10u128.pow(places);
        if places == 0 {
            format!("{sign}{abs}")
        } else {
            format!("{sign}{}.{:0w$}", abs / unit, abs % unit, w = places as usize)
        }
    }

    /// Splits this amount into parts proportional to integer `weights`, exactly: the parts sum to this amount to
    /// the nano-unit. Each part is first `⌊amount × weight / Σweights⌋`; the nano-units left over go one each to
    /// the parts with the largest remainders (ties to the earlier part), so a part of weight zero is always zero
    /// and no part is more than one nano-unit from its exact share. A negative amount is split as its magnitude,
    /// negated. `None` when the weights sum to zero (or overflow `u128`): there is nothing to split by.
    ///
    /// ```
    /// use wooo_core::model::Money;
    /// let parts = Money::usd(100, 0).split_proportionally(&[1, 1, 1]).unwrap();
    /// assert_eq!(parts.iter().map(|p| p.nanos()).collect::<Vec<_>>(), [33_333_333_334, 33_333_333_333, 33_333_333_333]);
    /// assert!(Money::usd(1, 0).split_proportionally(&[0, 0]).is_none());
    /// ```
    pub fn split_proportionally(self, weights: &[u128]) -> Option<Vec<Money>> {
        let total = weights.iter().try_fold(0u128, |sum, w| sum.checked_add(*w))?;
        if total == 0 {
            return None;
        }
        let whole = self.nanos.unsigned_abs();
        // Each weight is at most the total, so each quotient is at most `whole`: mul_div_u128 cannot fail.
        let mut parts: Vec<(usize, u128, u128)> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let (q, r) = mul_div_u128(whole, w, total).unwrap_or((0, 0));
                (i, q, r)
            })
            .collect();
        let assigned: u128 = parts.iter().map(|p| p.1).sum();
        // Σ remainders = left × total with every remainder below total, so fewer than `left` remainders are zero:
        // the nano-units left over never reach a part of weight zero.
        let left = usize::try_from(whole - assigned).unwrap_or(usize::MAX);
        parts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        for p in parts.iter_mut().take(left) {
            p.1 += 1;
        }
        parts.sort_by_key(|p| p.0);
        let sign = if self.nanos < 0 { -1 } else { 1 };
        // Every part is at most |self|, which fits in i128.
        Some(parts.into_iter().map(|p| Money { nanos: sign * p.1 as i128, currency: self.currency }).collect())
    }
}

impl PartialOrd for Money {
    /// Orders amounts of one currency; `None` across currencies, so no comparison between them holds.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (self.currency == other.currency).then(|| self.nanos.cmp(&other.nanos))
    }
}

fn expect_same_currency(a: Money, b: Money) {
    if let Err(e) = a.same_currency(b) {
        panic!("{e}");
    }
}

impl Add for Money {
    type Output = Money;
    /// Adds amounts of one currency.
    ///
    /// # Panics
    /// When the currencies differ ([`Money::checked_add`] returns an error instead) or on overflow.
    fn add(self, rhs: Money) -> Money {
        expect_same_currency(self, rhs);
        Money { nanos: self.nanos + rhs.nanos, ..self }
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Money;
    /// Subtracts amounts of one currency.
    ///
    /// # Panics
    /// When the currencies differ ([`Money::checked_sub`] returns an error instead) or on overflow.
    fn sub(self, rhs: Money) -> Money {
        expect_same_currency(self, rhs);
        Money { nanos: self.nanos - rhs.nanos, ..self }
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money { nanos: -self.nanos, ..self }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal_string(), self.currency)
    }
}

impl fmt::Display for Money {
    /// Two decimals, rounded halves away from zero, and the code (`70.08 USD`); `{:#}` prints full precision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return write!(f, "{} {}", self.decimal_string(), self.currency);
        }
        write!(f, "{} {}", self.to_fixed(2), self.currency)
    }
}

impl FromStr for Money {
    type Err = ParseUnitError;
    /// Reads `12.5 USD` (or a bare `12.5`, taken as US dollars).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut it = s.split_whitespace();
        let amount = it.next().ok_or_else(|| ParseUnitError::new("empty amount"))?;
        let currency = match it.next() {
            Some(c) => c.parse()?,
            None => Currency::USD,
        };
        if it.next().is_some() {
            return Err(ParseUnitError::new(format!("amount `{s}`: expected `<number> <currency>`")));
        }
        Money::from_decimal_str(amount, currency)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{} {}", self.decimal_string(), self.currency))
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl std::iter::Sum for Money {
    /// Sums amounts of one currency; an empty iterator gives zero US dollars. Use [`Money::checked_sum`] where
    /// the currencies come from input.
    ///
    /// # Panics
    /// As `+`, when the currencies differ.
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        let mut iter = iter.peekable();
        let currency = iter.peek().map(|m| m.currency).unwrap_or_default();
        iter.fold(Money::zero(currency), |a, b| a + b)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Rates
// ---------------------------------------------------------------------------------------------------------------

/// Hours in the billing month every wooo monthly figure uses (365 × 24 / 12), as AWS, Azure and GCP calculators do.
pub const HOURS_PER_MONTH: u64 = 730;

/// A billing period: the unit a [`Rate`] is per.
pub trait Period: Copy + Default + fmt::Debug + Send + Sync + 'static {
    /// Seconds in one period (an integer, so converting rates and pricing durations stays exact).
    const SECONDS: u64;
    /// Suffix used in text (`/h`, `/mo`).
    const SUFFIX: &'static str;
}

/// Per hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerHour;
impl Period for PerHour {
    const SECONDS: u64 = 3600;
    const SUFFIX: &'static str = "/h";
}

/// Per (730-hour) month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerMonth;
impl Period for PerMonth {
    const SECONDS: u64 = HOURS_PER_MONTH * 3600;
    const SUFFIX: &'static str = "/mo";
}

/// An amount of money per period. Rates of different periods are different types, so an hourly price cannot
/// be added to a monthly saving by mistake; convert with [`Rate::convert`]. Every operation is exact and rounds
/// as [`Money`] does.
///
/// ```
/// use std::time::Duration;
/// use wooo_core::model::{HourlyRate, MonthlyRate};
/// let node = HourlyRate::usd(96, 3);
/// let monthly: MonthlyRate = node.convert();
/// assert_eq!(monthly.amount().to_string(), "70.08 USD");
/// assert_eq!(node.over_hours(10).to_string(), "0.96 USD");
/// assert_eq!(node.times(3).over(Duration::from_secs(90 * 60)).decimal_string(), "0.432");
/// ```
///
/// Mixing periods does not compile:
/// ```compile_fail
/// use wooo_core::model::{HourlyRate, MonthlyRate};
/// let _ = HourlyRate::usd(1, 0) + MonthlyRate::usd(1, 0);
/// ```
pub struct Rate<P: Period> {
    amount: Money,
    period: PhantomData<P>,
}

/// Money per hour.
pub type HourlyRate = Rate<PerHour>;
/// Money per 730-hour month.
pub type MonthlyRate = Rate<PerMonth>;

impl<P: Period> Rate<P> {
    /// A rate of `amount` per period `P`.
    pub const fn new(amount: Money) -> Self {
        Self { amount, period: PhantomData }
    }
    /// `mantissa × 10^-scale` US dollars per period: `HourlyRate::usd(96, 3)` is 0.096 USD/h.
    ///
    /// # Panics
    /// As [`Money::new`].
    pub const fn usd(mantissa: i64, scale: u32) -> Self {
        Self::new(Money::usd(mantissa, scale))
    }
    /// Zero per period.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(Money::zero(currency))
    }
    /// The amount per period.
    pub const fn amount(self) -> Money {
        self.amount
    }
    /// The same rate expressed per another period (exact ratio of the periods' seconds, rounded once).
    pub fn convert<Q: Period>(self) -> Rate<Q> {
        Rate::new(self.amount.mul_ratio(i128::from(Q::SECONDS), i128::from(P::SECONDS)))
    }
    /// What this rate costs over `duration` (to the nanosecond, rounded once to the nano-unit).
    pub fn over(self, duration: Duration) -> Money {
        // Durations fit in u128 nanoseconds below 2⁶⁴ seconds, so the conversion cannot fail.
        let nanos = i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX);
        self.amount.mul_ratio(nanos, i128::from(P::SECONDS) * 1_000_000_000)
    }
    /// What this rate costs over a whole number of hours.
    pub fn over_hours(self, hours: u64) -> Money {
        self.amount.mul_ratio(i128::from(hours) * 3600, i128::from(P::SECONDS))
    }
    /// This rate `n` times (`n` nodes, replicas), exactly.
    ///
    /// # Panics
    /// As [`Money::times`].
    pub fn times(self, n: i64) -> Self {
        Rate::new(self.amount.times(n))
    }
    /// `self × numer / denom`, as [`Money::mul_ratio`].
    ///
    /// # Panics
    /// As [`Money::mul_ratio`].
    pub fn mul_ratio(self, numer: i128, denom: i128) -> Self {
        Rate::new(self.amount.mul_ratio(numer, denom))
    }
    /// This rate times a float quantity read to a millionth, as [`Money::mul_quantity`].
    ///
    /// # Errors
    /// As [`Money::mul_quantity`].
    pub fn mul_quantity(self, quantity: f64) -> Result<Self, MoneyError> {
        self.amount.mul_quantity(quantity).map(Rate::new)
    }
    /// Adds, as [`Money::checked_add`].
    ///
    /// # Errors
    /// As [`Money::checked_add`].
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.amount.checked_add(other.amount).map(Rate::new)
    }
    /// Subtracts, as [`Money::checked_sub`].
    ///
    /// # Errors
    /// As [`Money::checked_sub`].
    pub fn checked_sub(self, other: Self) -> Result<Self, MoneyError> {
        self.amount.checked_sub(other.amount).map(Rate::new)
    }
}

impl<P: Period> Clone for Rate<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: Period> Copy for Rate<P> {}
impl<P: Period> PartialEq for Rate<P> {
    fn eq(&self, other: &Self) -> bool {
        self.amount == other.amount
    }
}
impl<P: Period> Eq for Rate<P> {}
impl<P: Period> PartialOrd for Rate<P> {
    /// As [`Money`]'s: `None` across currencies.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.amount.partial_cmp(&other.amount)
    }
}
impl<P: Period> std::hash::Hash for Rate<P> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.amount.hash(state);
    }
}
impl<P: Period> Add for Rate<P> {
    type Output = Rate<P>;
    /// # Panics
    /// As `Money + Money`, when the currencies differ.
    fn add(self, rhs: Self) -> Self {
        Rate::new(self.amount + rhs.amount)
    }
}
impl<P: Period> Sub for Rate<P> {
    type Output = Rate<P>;
    /// # Panics
    /// As `Money - Money`, when the currencies differ.
    fn sub(self, rhs: Self) -> Self {
        Rate::new(self.amount - rhs.amount)
    }
}
impl<P: Period> std::iter::Sum for Rate<P> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        Rate::new(iter.map(|r| r.amount).sum())
    }
}
impl<P: Period> fmt::Debug for Rate<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}{}", self.amount, P::SUFFIX)
    }
}
impl<P: Period> fmt::Display for Rate<P> {
    /// As [`Money`]'s, with the period: `0.10 USD/h`, and `{:#}` for full precision (`0.096 USD/h`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{:#}{}", self.amount, P::SUFFIX)
        } else {
            write!(f, "{}{}", self.amount, P::SUFFIX)
        }
    }
}
impl<P: Period> Serialize for Rate<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{} {}{}", self.amount.decimal_string(), self.amount.currency(), P::SUFFIX))
    }
}
impl<'de, P: Period> Deserialize<'de> for Rate<P> {
    /// Reads `0.096 USD/h`; the period suffix must match the type.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let body = text.trim().strip_suffix(P::SUFFIX).ok_or_else(|| {
            serde::de::Error::custom(format!("rate `{text}` must end in `{}` for this field", P::SUFFIX))
        })?;
        body.parse::<Money>().map(Rate::new).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        for (text, millis) in [
            ("500m", 500),
            ("1", 1000),
            ("0.5", 500),
            ("1.5", 1500),
            ("2k", 2_000_000),
            ("100u", 1),
            ("+250m", 250),
            ("1e3", 1_000_000),
            (".1", 100),
        ] {
            assert_eq!(text.parse::<Cpu>().unwrap().millis(), millis, "{text}");
        }
        for bad in ["", "-1", "1x", "m", "1.2.3", "1e", "abc"] {
            assert!(bad.parse::<Cpu>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn memory_quantities() {
        for (text, bytes) in [
            ("512Mi", 512 * MIB),
            ("1Gi", GIB),
            ("1.5Gi", GIB + GIB / 2),
            ("1G", 1_000_000_000),
            ("128974848", 128_974_848),
            ("129e6", 129_000_000),
            ("123Ki", 123 * KIB),
            ("500m", 1),
        ] {
            assert_eq!(text.parse::<Memory>().unwrap().bytes(), bytes, "{text}");
        }
        assert!("1Zi".parse::<Memory>().is_err());
        assert!("99999999999999999999Ei".parse::<Memory>().is_err());
    }

    #[test]
    fn quantities_round_trip_through_text_and_serde() {
        for m in [Memory::from_mib(512), Memory::from_gib(3), Memory::from_bytes(1000), Memory::from_bytes(2048)] {
            assert_eq!(m.to_string().parse::<Memory>().unwrap(), m);
        }
        for c in [Cpu::from_millis(250), Cpu::from_cores(4)] {
            assert_eq!(c.to_string().parse::<Cpu>().unwrap(), c);
        }
        let v: Cpu = serde_json::from_str("2").unwrap();
        assert_eq!(v, Cpu::from_cores(2));
        let v: Cpu = serde_json::from_str("0.25").unwrap();
        assert_eq!(v, Cpu::from_millis(250));
        assert_eq!(serde_json::to_string(&Memory::from_mib(256)).unwrap(), "\"256Mi\"");
        let err = serde_json::from_str::<Memory>("\"12Q\"").unwrap_err().to_string();
        assert!(err.contains("memory"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "5x", "s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for d in [
            Duration::from_secs(90),
            Duration::from_millis(250),
            Duration::from_secs(3600),
            Duration::from_millis(1500),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

    fn usd(text: &str) -> Money {
        Money::from_decimal_str(text, Currency::USD).unwrap()
    }

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    #[test]
    fn money_is_exact_and_typed() {
        let p = usd("0.0116");
        let total: Money = std::iter::repeat_n(p, 1000).sum();
        assert_eq!(total.decimal_string(), "11.6");
        assert_eq!(Money::usd(116, 4), p);
        assert_eq!(Money::usd(-3, 0).nanos(), -3_000_000_000);
        assert!("eur".parse::<Currency>().is_err());
        assert_eq!(format!("{}", usd("-1.234")), "-1.23 USD");
        assert_eq!(format!("{:#}", usd("1.234")), "1.234 USD");
        // Display rounds halves away from zero, in integers (0.005 is not below half a cent as a float is).
        assert_eq!(usd("0.005").to_string(), "0.01 USD");
        assert_eq!(usd("-0.005").to_string(), "-0.01 USD");
        assert_eq!(usd("-0.004").to_string(), "0.00 USD");
        assert_eq!(usd("0.05355").to_fixed(4), "0.0536");
        assert_eq!(usd("12").to_fixed(0), "12");
    }

    #[test]
    fn decimal_text_is_read_exactly_with_exponents_and_rounded_once() {
        for (text, nanos) in [
            ("0.096", 96_000_000),
            ("12", 12_000_000_000),
            ("+1.5", 1_500_000_000),
            ("-0.25", -250_000_000),
            (".5", 500_000_000),
            ("5.", 5_000_000_000),
            ("5.555555555555556e-05", 55_556),
            ("1.0000000005", 1_000_000_001),
            ("1.00000000049", 1_000_000_000),
            ("-1.0000000005", -1_000_000_001),
            ("2.5E3", 2_500_000_000_000),
            ("4e-10", 0),
            ("5e-10", 1),
            ("5e-11", 0),
            ("1e-400", 0),
            // 0.1 has no exact float; text does.
            ("0.1", 100_000_000),
        ] {
            assert_eq!(usd(text).nanos(), nanos, "{text}");
        }
        for bad in ["", "1.2.3", "1e", "e5", ".", "-", "abc", "1e400", "nan", "inf", "1_000", "+-1"] {
            assert!(Money::from_decimal_str(bad, Currency::USD).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn from_f64_rejects_nan_and_infinities() {
        assert_eq!(Money::from_f64(0.096, Currency::USD), Ok(Money::usd(96, 3)));
        assert_eq!(Money::from_f64(-0.25, Currency::USD).map(Money::nanos), Ok(-250_000_000));
        assert!(matches!(Money::from_f64(f64::NAN, Currency::USD), Err(MoneyError::NotFinite(x)) if x.is_nan()));
        assert_eq!(Money::from_f64(f64::INFINITY, Currency::USD), Err(MoneyError::NotFinite(f64::INFINITY)));
        assert_eq!(Money::from_f64(1e300, Currency::USD), Err(MoneyError::Overflow));
    }

    #[test]
    fn currencies_never_combine_or_order() {
        let (a, e) = (Money::usd(1, 0), Money::new(1, 0, eur()));
        let mismatch = MoneyError::CurrencyMismatch { left: Currency::USD, right: eur() };
        assert_eq!(a.checked_add(e), Err(mismatch.clone()));
        assert_eq!(a.checked_sub(e), Err(mismatch.clone()));
        assert_eq!(Money::checked_sum([a, a, e], Currency::USD), Err(mismatch));
        assert_eq!(Money::checked_sum([], eur()), Ok(Money::zero(eur())));
        assert_eq!(a.checked_add(a), Ok(Money::usd(2, 0)));
        assert_eq!(a.checked_sub(Money::usd(3, 0)), Ok(Money::usd(-2, 0)));
        assert_eq!(Money::from_nanos(i128::MAX, Currency::USD).checked_add(a), Err(MoneyError::Overflow));
        // No order across currencies: a bigger EUR amount is neither above nor below a USD one.
        let big = Money::new(1000, 0, eur());
        assert_eq!(a.partial_cmp(&big), None);
        assert_eq!([a < big, a > big, a <= big, a >= big], [false; 4]);
        assert!(a < Money::usd(2, 0));
        assert_eq!(HourlyRate::usd(1, 0).partial_cmp(&HourlyRate::new(big)), None);
        assert_eq!(mismatch_text(), "cannot combine USD and EUR amounts");
    }

    fn mismatch_text() -> String {
        MoneyError::CurrencyMismatch { left: Currency::USD, right: eur() }.to_string()
    }

    #[test]
    #[should_panic(expected = "cannot combine USD and EUR")]
    fn adding_currencies_with_the_operator_panics() {
        let _ = Money::usd(1, 0) + Money::zero(eur());
    }

    #[test]
    fn products_and_ratios_are_exact_and_round_half_away_from_zero() {
        let p = Money::usd(96, 3);
        assert_eq!(p.times(730), usd("70.08"));
        assert_eq!(Money::usd(10, 2).mul_ratio(7, 3).nanos(), 233_333_333);
        assert_eq!(Money::usd(20, 2).mul_ratio(7, 3).nanos(), 466_666_667);
        assert_eq!(Money::from_nanos(3, Currency::USD).mul_ratio(1, 2).nanos(), 2, "1.5 rounds up");
        assert_eq!(Money::from_nanos(-3, Currency::USD).mul_ratio(1, 2).nanos(), -2, "-1.5 rounds down");
        assert_eq!(Money::from_nanos(5, Currency::USD).mul_ratio(-1, 2).nanos(), -3);
        // Products beyond i128 in the middle are still exact: (10¹⁵ USD × 10²⁰) / 10²⁰.
        let huge = Money::usd(1_000_000_000_000_000, 0);
        assert_eq!(huge.mul_ratio(10i128.pow(20), 10i128.pow(20)), huge);
        assert_eq!(huge.mul_ratio(3 * 10i128.pow(20), 7 * 10i128.pow(20)).nanos(), 428_571_428_571_428_571_428_571);
        assert_eq!(p.mul_quantity(2.5), Ok(Money::usd(24, 2)));
        assert_eq!(p.mul_quantity(1.0 / 3.0).map(Money::nanos), Ok(31_999_968), "read to a millionth: 0.333333");
        assert_eq!(p.mul_quantity(f64::NAN).unwrap_err().to_string(), "NaN is not a finite number");
        assert!(p.mul_quantity(f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn wide_multiply_divide_matches_small_arithmetic() {
        assert_eq!(mul_div_u128(7, 9, 4), Some((15, 3)));
        assert_eq!(mul_div_u128(1 << 100, 1 << 100, 1 << 90), Some((1 << 110, 0)));
        assert_eq!(mul_div_u128(u128::MAX, u128::MAX, u128::MAX), Some((u128::MAX, 0)));
        assert_eq!(mul_div_u128(u128::MAX, 2, 3), Some((u128::MAX / 3 * 2, 0)));
        assert_eq!(mul_div_u128(u128::MAX, u128::MAX, 1), None, "the quotient does not fit");
        assert_eq!(mul_div_u128(1, 1, 0), None);
        assert_eq!(wide_mul(1 << 64, 1 << 64), (1, 0));
        assert_eq!(wide_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        let mut x: u128 = 0x1234_5678_9abc_def0;
        for _ in 0..200 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            // 100-bit factors: the product needs the 256-bit path; the divisor keeps the quotient in range.
            let (a, b, d) = (x >> 28, x.rotate_left(17) >> 28, (x >> 8) | 1);
            let (q, r) = mul_div_u128(a, b, d).unwrap();
            assert!(r < d);
            let (qh, ql) = wide_mul(q, d);
            let (sum, carry) = ql.overflowing_add(r);
            assert_eq!((qh + u128::from(carry), sum), wide_mul(a, b), "q × d + r = a × b");
        }
    }

    #[test]
    fn money_serde_round_trip() {
        let m = usd("12.345");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"12.345 USD\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert_eq!(serde_json::from_str::<Money>("\"3\"").unwrap(), Money::usd(3, 0));
        assert_eq!(serde_json::from_str::<Money>("\"2 EUR\"").unwrap(), Money::new(2, 0, eur()));
    }

    #[test]
    fn split_proportionally_is_exact_by_largest_remainder() {
        let total = Money::usd(100, 0);
        let parts = total.split_proportionally(&[1, 1, 1]).unwrap();
        assert_eq!(parts.iter().copied().sum::<Money>(), total);
        assert_eq!(parts[0].nanos(), 33_333_333_334, "the leftover nano goes to the first of equal remainders");
        let parts = Money::from_nanos(10, Currency::USD).split_proportionally(&[1, 0, 2, 0, 3]).unwrap();
        // Exact shares 1.67, 0, 3.33, 0, 5: floors 1, 0, 3, 0, 5 and one nano left for the largest remainder.
        assert_eq!(parts.iter().map(|p| p.nanos()).collect::<Vec<_>>(), [2, 0, 3, 0, 5]);
        let neg = Money::usd(-1, 0).split_proportionally(&[1, 2]).unwrap();
        assert_eq!(neg.iter().map(|p| p.nanos()).collect::<Vec<_>>(), [-333_333_333, -666_666_667]);
        assert!(total.split_proportionally(&[0, 0]).is_none());
        assert!(total.split_proportionally(&[]).is_none());
        assert!(total.split_proportionally(&[u128::MAX, 1]).is_none(), "weights that overflow");
        // Weights whose products with the amount overflow i128 still split exactly.
        let big = Money::usd(1_000_000_000, 0);
        let parts = big.split_proportionally(&[u128::MAX / 4, u128::MAX / 4, u128::MAX / 2]).unwrap();
        assert_eq!(parts.iter().copied().sum::<Money>(), big);
        assert_eq!(parts[2], Money::usd(500_000_000, 0));
        assert_eq!(parts[0].currency(), Currency::USD);
    }

    #[test]
    fn rates_convert_price_durations_and_serialize_with_their_period() {
        let h = HourlyRate::usd(1, 1);
        let m: MonthlyRate = h.convert();
        assert_eq!(m.amount(), Money::usd(73, 0));
        let back: HourlyRate = m.convert();
        assert_eq!(back, h);
        // 1/730 of a dollar is not a whole number of nano-dollars: rounded once, to the nearest.
        let odd: HourlyRate = MonthlyRate::usd(1, 0).convert();
        assert_eq!(odd.amount().nanos(), 1_369_863);
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"0.1 USD/h\"");
        assert_eq!(format!("{} {:#}", HourlyRate::usd(96, 3), HourlyRate::usd(96, 3)), "0.10 USD/h 0.096 USD/h");
        assert_eq!(serde_json::from_str::<HourlyRate>("\"0.1 USD/h\"").unwrap(), h);
        let err = serde_json::from_str::<HourlyRate>("\"73 USD/mo\"").unwrap_err().to_string();
        assert!(err.contains("/h"), "{err}");
        assert_eq!((h + h).amount(), Money::usd(2, 1));
        assert_eq!(h.over_hours(24), Money::usd(24, 1));
        assert_eq!(h.over(Duration::from_secs(90 * 60)), Money::usd(15, 2));
        assert_eq!(h.over(Duration::from_nanos(1)), Money::zero_usd());
        assert_eq!(HourlyRate::usd(96, 3).times(3).over(Duration::from_secs(1)).nanos(), 80_000);
        assert_eq!(h.mul_ratio(1, 4), HourlyRate::usd(25, 3));
        assert_eq!(h.mul_quantity(0.5), Ok(HourlyRate::usd(5, 2)));
        assert!(h.checked_add(HourlyRate::zero(eur())).is_err());
        assert_eq!(h.checked_sub(h), Ok(HourlyRate::zero(Currency::USD)));
    }
}
