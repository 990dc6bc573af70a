//! Units: Kubernetes quantities (CPU, memory), durations written as `30s`, money with a currency, and typed
//! rates that keep per-hour and per-month amounts from being mixed.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};
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

/// An amount of money: fixed point with nine decimals (exact sums, no float drift), and a currency.
///
/// Adding or subtracting amounts of different currencies panics, like integer overflow does; use
/// [`Money::checked_add`] where the currencies come from input.
///
/// ```
/// use wooo_core::model::{Currency, Money};
/// let a = Money::from_decimal_str("0.096", Currency::USD).unwrap();
/// let b = a * 730.0;
/// assert_eq!(b.to_string(), "70.08 USD");
/// assert_eq!(a + a, Money::from_decimal_str("0.192", Currency::USD).unwrap());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// From a float amount, rounded to the nearest nano-unit. For prices read from catalogues.
    pub fn from_f64(amount: f64, currency: Currency) -> Self {
        Self { nanos: (amount * NANOS_PER_UNIT as f64).round() as i128, currency }
    }

    /// US dollars from a float amount.
    pub fn usd(amount: f64) -> Self {
        Self::from_f64(amount, Currency::USD)
    }

    /// Parses a decimal amount such as `0.096`, `12`, `5.555555555555556e-05` (exponent form goes through f64).
    ///
    /// # Errors
    /// When the text is not a decimal number.
    pub fn from_decimal_str(s: &str, currency: Currency) -> Result<Self, ParseUnitError> {
        let t = s.trim();
        let bad = || ParseUnitError::new(format!("amount `{s}` is not a decimal number"));
        if t.contains(['e', 'E']) {
            let x: f64 = t.parse().map_err(|_| bad())?;
            return Ok(Self::from_f64(x, currency));
        }
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|c| c.is_ascii_digit())
            || !frac_part.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let int: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| bad())? };
        let mut frac = frac_part.to_string();
        let round_up = frac.len() > 9 && frac.as_bytes()[9] >= b'5';
        frac.truncate(9);
        while frac.len() < 9 {
            frac.push('0');
        }
        let frac: i128 = frac.parse().map_err(|_| bad())?;
        let mut nanos = int.checked_mul(NANOS_PER_UNIT).ok_or_else(bad)? + frac + i128::from(round_up);
        if neg {
            nanos = -nanos;
        }
        Ok(Self { nanos, currency })
    }

    /// Nano-units.
    pub const fn nanos(self) -> i128 {
        self.nanos
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// The amount as a float, for ratios and charts (never for sums).
    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// Adds, or `None` when the currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then(|| Money { nanos: self.nanos + other.nanos, ..self })
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

    /// Splits this amount into parts proportional to `weights`, so that the parts sum to exactly this amount
    /// (largest-remainder rounding). All-zero or empty weights give all-zero parts, with the amount left over
    /// returned as the second value.
    pub fn split_proportionally(self, weights: &[f64]) -> (Vec<Money>, Money) {
        let total_w: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
        if weights.is_empty() || total_w <= 0.0 {
            return (vec![Money::zero(self.currency); weights.len()], self);
        }
        let mut parts: Vec<(usize, i128, f64)> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let w = if w.is_finite() && *w > 0.0 { *w } else { 0.0 };
                let exact = self.nanos as f64 * (w / total_w);
                let floor = exact.floor();
                (i, floor as i128, exact - floor)
            })
            .collect();
        let assigned: i128 = parts.iter().map(|p| p.1).sum();
        let mut left = self.nanos - assigned;
        parts.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        for p in parts.iter_mut() {
            if left <= 0 {
                break;
            }
            if weights[p.0] > 0.0 {
                p.1 += 1;
                left -= 1;
            }
        }
        parts.sort_by_key(|p| p.0);
        let out = parts.into_iter().map(|p| Money { nanos: p.1, currency: self.currency }).collect();
        (out, Money { nanos: left.max(0), currency: self.currency })
    }
}

fn same_currency(a: Money, b: Money) {
    assert!(a.currency == b.currency, "cannot combine {} and {} amounts", a.currency, b.currency);
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        same_currency(self, rhs);
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
    fn sub(self, rhs: Money) -> Money {
        same_currency(self, rhs);
        Money { nanos: self.nanos - rhs.nanos, ..self }
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money { nanos: -self.nanos, ..self }
    }
}

impl Mul<f64> for Money {
    type Output = Money;
    fn mul(self, rhs: f64) -> Money {
        Money { nanos: (self.nanos as f64 * rhs).round() as i128, ..self }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal_string(), self.currency)
    }
}

impl fmt::Display for Money {
    /// Two decimals and the code (`70.08 USD`); `{:#}` prints full precision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return write!(f, "{} {}", self.decimal_string(), self.currency);
        }
        let cents = (self.nanos as f64 / 10_000_000.0).round() as i128;
        let sign = if cents < 0 { "-" } else { "" };
        let c = cents.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", c / 100, c % 100, self.currency)
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
    /// Sums; an empty iterator gives zero US dollars.
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
pub const HOURS_PER_MONTH: f64 = 730.0;

/// A billing period: the unit a [`Rate`] is per.
pub trait Period: Copy + Default + fmt::Debug + Send + Sync + 'static {
    /// Hours in one period.
    const HOURS: f64;
    /// Suffix used in text (`/h`, `/mo`).
    const SUFFIX: &'static str;
}

/// Per hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerHour;
impl Period for PerHour {
    const HOURS: f64 = 1.0;
    const SUFFIX: &'static str = "/h";
}

/// Per (730-hour) month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerMonth;
impl Period for PerMonth {
    const HOURS: f64 = HOURS_PER_MONTH;
    const SUFFIX: &'static str = "/mo";
}

/// An amount of money per period. Rates of different periods are different types, so an hourly price cannot
/// be added to a monthly saving by mistake; convert with [`Rate::convert`].
///
/// ```
/// use wooo_core::model::{HourlyRate, MonthlyRate};
/// let node = HourlyRate::usd(0.096);
/// let monthly: MonthlyRate = node.convert();
/// assert_eq!(monthly.amount().to_string(), "70.08 USD");
/// assert_eq!(node.over_hours(10.0).to_string(), "0.96 USD");
/// ```
///
/// Mixing periods does not compile:
/// ```compile_fail
/// use wooo_core::model::{HourlyRate, MonthlyRate};
/// let _ = HourlyRate::usd(1.0) + MonthlyRate::usd(1.0);
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
    /// US dollars per period.
    pub fn usd(amount: f64) -> Self {
        Self::new(Money::usd(amount))
    }
    /// Zero per period.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(Money::zero(currency))
    }
    /// The amount per period.
    pub const fn amount(self) -> Money {
        self.amount
    }
    /// The same rate expressed per another period.
    pub fn convert<Q: Period>(self) -> Rate<Q> {
        Rate::new(self.amount * (Q::HOURS / P::HOURS))
    }
    /// What this rate costs over `hours` hours.
    pub fn over_hours(self, hours: f64) -> Money {
        self.amount * (hours / P::HOURS)
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
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<P: Period> Ord for Rate<P> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.amount.cmp(&other.amount)
    }
}
impl<P: Period> std::hash::Hash for Rate<P> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.amount.hash(state);
    }
}
impl<P: Period> Add for Rate<P> {
    type Output = Rate<P>;
    fn add(self, rhs: Self) -> Self {
        Rate::new(self.amount + rhs.amount)
    }
}
impl<P: Period> Sub for Rate<P> {
    type Output = Rate<P>;
    fn sub(self, rhs: Self) -> Self {
        Rate::new(self.amount - rhs.amount)
    }
}
impl<P: Period> Mul<f64> for Rate<P> {
    type Output = Rate<P>;
    fn mul(self, rhs: f64) -> Self {
        Rate::new(self.amount * rhs)
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, P::SUFFIX)
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

    #[test]
    fn money_is_exact_and_typed() {
        let p = Money::from_decimal_str("0.0116", Currency::USD).unwrap();
        let total: Money = std::iter::repeat_n(p, 1000).sum();
        assert_eq!(total.decimal_string(), "11.6");
        assert_eq!(Money::from_decimal_str("5.555555555555556e-05", Currency::USD).unwrap().nanos(), 55_556);
        assert_eq!(Money::from_decimal_str("1.0000000005", Currency::USD).unwrap().nanos(), 1_000_000_001);
        assert!(Money::from_decimal_str("1.2.3", Currency::USD).is_err());
        assert!(Money::from_decimal_str("", Currency::USD).is_err());
        let eur: Currency = "EUR".parse().unwrap();
        assert!(Money::usd(1.0).checked_add(Money::zero(eur)).is_none());
        assert!("eur".parse::<Currency>().is_err());
        assert_eq!(format!("{}", Money::usd(-1.234)), "-1.23 USD");
        assert_eq!(format!("{:#}", Money::usd(1.234)), "1.234 USD");
    }

    #[test]
    #[should_panic(expected = "cannot combine USD and EUR")]
    fn adding_currencies_panics() {
        let _ = Money::usd(1.0) + Money::zero("EUR".parse().unwrap());
    }

    #[test]
    fn money_serde_round_trip() {
        let m = Money::from_decimal_str("12.345", Currency::USD).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"12.345 USD\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert_eq!(serde_json::from_str::<Money>("\"3\"").unwrap(), Money::usd(3.0));
    }

    #[test]
    fn split_proportionally_sums_exactly() {
        let total = Money::from_decimal_str("100", Currency::USD).unwrap();
        let (parts, rest) = total.split_proportionally(&[1.0, 1.0, 1.0]);
        assert!(rest.is_zero());
        assert_eq!(parts.iter().copied().sum::<Money>(), total);
        let diff = (parts[0].nanos() - parts[2].nanos()).abs();
        assert!(diff <= 1, "parts differ by at most one nano: {parts:?}");
        let (parts, rest) = total.split_proportionally(&[0.0, 0.0]);
        assert_eq!(rest, total);
        assert!(parts.iter().all(|p| p.is_zero()));
        let (parts, _) = total.split_proportionally(&[3.0, 1.0, f64::NAN]);
        assert_eq!(parts[0], Money::usd(75.0));
        assert_eq!(parts[1], Money::usd(25.0));
        assert!(parts[2].is_zero());
    }

    #[test]
    fn rates_convert_and_serialize_with_their_period() {
        let h = HourlyRate::usd(0.1);
        let m: MonthlyRate = h.convert();
        assert_eq!(m.amount(), Money::usd(73.0));
        let back: HourlyRate = m.convert();
        assert_eq!(back, h);
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"0.1 USD/h\"");
        assert_eq!(serde_json::from_str::<HourlyRate>("\"0.1 USD/h\"").unwrap(), h);
        let err = serde_json::from_str::<HourlyRate>("\"73 USD/mo\"").unwrap_err().to_string();
        assert!(err.contains("/h"), "{err}");
        assert_eq!((h + h).amount(), Money::usd(0.2));
    }
}
