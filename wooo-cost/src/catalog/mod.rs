//! Price catalogues: public list prices per cloud and region, read from small CSV files and turned into
//! [`PriceTable`](crate::engine::PriceTable)s.
//!
//! | catalogue | files | control plane |
//! |---|---|---|
//! | [`Ec2Catalog`] | `ec2_ondemand.csv`, `ec2_instance_types.csv`, optionally `aws_spot_advisor.csv` | EKS 0.10 USD/h |
//! | [`AzureCatalog`] | `azure_ondemand.csv` | AKS free tier, 0 |
//! | [`GceCatalog`] | `gce.csv` | GKE 0.10 USD/h |
//!
//! The formats are the ones of the snapshot kept in `wooo-cost/data/prices` (Apache Libcloud's `pricing.json`
//! and instance specs, and the AWS Spot Instance Advisor feed, reduced to CSV); its README documents every column.
//!
//! # The CSV dialect
//! Comma separated, first line a header naming the columns (their order does not matter; extra columns are
//! ignored), `.` as decimal separator, `\n` or `\r\n` line ends, blank lines ignored. There is **no quoting**:
//! the source files never need it, so a `"` anywhere is rejected with [`CatalogError::Quoted`] naming the line
//! and column, rather than guessing at a dialect the files do not use. Parsing is done by hand (no csv crate) for
//! the same reason.
//!
//! Every price must be a positive decimal number (`0.096`, or exponent form `5.5e-05`): in the source a price of
//! 0 means "not scraped", never "free", so a zero, negative or non-numeric price is an error naming the line.

mod azure;
mod csv;
mod ec2;
mod gce;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::Path;

use wooo_core::model::{Currency, Memory, Money};

pub use azure::{AzureCatalog, normalize_vm_size};
pub use ec2::{Arch, Ec2Catalog, Ec2Coverage, Ec2InstanceSpec, SpotAdvice};
pub use gce::{GceCatalog, GceRate, GceResource, GceTier, GceUnit};

/// Which catalogue file an error or a price comes from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogFile {
    /// `ec2_ondemand.csv`: `region,instance_type,usd_per_hour`.
    Ec2OnDemand,
    /// `ec2_instance_types.csv`: `instance_type,vcpu,memory_gib,arch,…`.
    Ec2InstanceTypes,
    /// `aws_spot_advisor.csv`: `region,instance_type,os,interruption_bucket,savings_pct`.
    AwsSpotAdvisor,
    /// `azure_ondemand.csv`: `region,vm_size,usd_per_hour`.
    AzureOnDemand,
    /// `gce.csv`: `region,family,resource,unit,tier,usd,sku,description`.
    Gce,
}

impl CatalogFile {
    /// The file's conventional name, as in `wooo-cost/data/prices`.
    pub const fn file_name(self) -> &'static str {
        match self {
            CatalogFile::Ec2OnDemand => "ec2_ondemand.csv",
            CatalogFile::Ec2InstanceTypes => "ec2_instance_types.csv",
            CatalogFile::AwsSpotAdvisor => "aws_spot_advisor.csv",
            CatalogFile::AzureOnDemand => "azure_ondemand.csv",
            CatalogFile::Gce => "gce.csv",
        }
    }
}

impl fmt::Display for CatalogFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Why a catalogue could not be read, or could not answer.
///
/// Row errors name the file, the 1-based line and, where one field is at fault, the 1-based column, as
/// `file:line:column`, the way compilers do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The reader failed (missing file, I/O error, text that is not UTF-8).
    #[error("{file}: cannot read: {source}")]
    Read {
        /// File being read.
        file: CatalogFile,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("{file}: empty file, expected a header line")]
    Empty {
        /// File being read.
        file: CatalogFile,
    },
    /// The header lacks a column the catalogue needs.
    #[error("{file}:1: header has no `{column}` column (it has: {found})")]
    MissingColumn {
        /// File being read.
        file: CatalogFile,
        /// The missing column.
        column: &'static str,
        /// The header's columns, comma separated.
        found: String,
    },
    /// A row has more or fewer fields than the header.
    #[error("{file}:{line}: {found} fields, but the header has {expected}")]
    FieldCount {
        /// File being read.
        file: CatalogFile,
        /// 1-based line.
        line: usize,
        /// Number of header columns.
        expected: usize,
        /// Number of fields on the line.
        found: usize,
    },
    /// A field contains a `"`. The catalogue files are written without quoting, so a quote means the file was
    /// re-saved by a tool that quotes, or is not a catalogue file.
    #[error(
        "{file}:{line}:{column}: quoted fields are not supported (the price files are plain comma-separated text \
         with no quoting)"
    )]
    Quoted {
        /// File being read.
        file: CatalogFile,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A field is empty, not a number, out of range, or a zero or negative price.
    #[error("{file}:{line}:{column}: `{name}` = `{value}`: {reason}")]
    BadValue {
        /// File being read.
        file: CatalogFile,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Column name.
        name: String,
        /// The field's text.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two rows give a price (or a spec) for the same key: the file is ambiguous.
    #[error("{file}:{line}: second row for {key} (first at line {first_line})")]
    Duplicate {
        /// File being read.
        file: CatalogFile,
        /// 1-based line of the second row.
        line: usize,
        /// The repeated key, e.g. `us-east-1 m5.large`.
        key: String,
        /// 1-based line of the first row.
        first_line: usize,
    },
    /// The catalogue has no prices for that region.
    #[error("{file}: unknown region `{region}` (known regions: {})", known.join(", "))]
    UnknownRegion {
        /// File the catalogue was read from.
        file: CatalogFile,
        /// The region asked for.
        region: String,
        /// The regions the file has, sorted.
        known: Vec<String>,
    },
    /// The region is known but the file has no such price in it.
    #[error("{file}: no price for {what} in `{region}`")]
    NoPrice {
        /// File the catalogue was read from.
        file: CatalogFile,
        /// The region asked for.
        region: String,
        /// What has no price, e.g. `` VM size `Standard_D2s_v5` (key `standardd2sv5`) ``.
        what: String,
    },
    /// A size given by the caller is not usable (no vCPUs, memory not a positive finite number).
    #[error("{file}: size `{name}`: {reason}")]
    InvalidSize {
        /// Catalogue the size was given to.
        file: CatalogFile,
        /// The VM size or machine type.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl CatalogError {
    /// The file the error is about.
    pub fn file(&self) -> CatalogFile {
        match self {
            CatalogError::Read { file, .. }
            | CatalogError::Empty { file }
            | CatalogError::MissingColumn { file, .. }
            | CatalogError::FieldCount { file, .. }
            | CatalogError::Quoted { file, .. }
            | CatalogError::BadValue { file, .. }
            | CatalogError::Duplicate { file, .. }
            | CatalogError::UnknownRegion { file, .. }
            | CatalogError::NoPrice { file, .. }
            | CatalogError::InvalidSize { file, .. } => *file,
        }
    }

    /// The 1-based line the error is on, for errors about one row (the header is line 1).
    pub fn line(&self) -> Option<usize> {
        match self {
            CatalogError::MissingColumn { .. } => Some(1),
            CatalogError::FieldCount { line, .. }
            | CatalogError::Quoted { line, .. }
            | CatalogError::BadValue { line, .. }
            | CatalogError::Duplicate { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The 1-based column the error is in, for errors about one field.
    pub fn column(&self) -> Option<usize> {
        match self {
            CatalogError::Quoted { column, .. } | CatalogError::BadValue { column, .. } => Some(*column),
            _ => None,
        }
    }
}

impl From<CatalogError> for wooo_core::Error {
    /// A catalogue that cannot be read or cannot price what was asked is bad input, reported before any cloud
    /// call: [`wooo_core::Error::InvalidSpec`] with field `catalog.<file>:<line>` (or `catalog.<file>` when no
    /// single line is at fault) and the whole message as the reason. A failed read is the exception: it is not
    /// the input's fault, so it becomes [`wooo_core::Error::Provider`] (provider `"catalog"`) keeping the I/O
    /// error as its source.
    fn from(err: CatalogError) -> Self {
        let field = match err.line() {
            Some(line) => format!("catalog.{}:{line}", err.file()),
            None => format!("catalog.{}", err.file()),
        };
        match err {
            CatalogError::Read { file, source } => wooo_core::Error::Provider {
                provider: "catalog",
                message: format!("cannot read {file}"),
                source: Some(Box::new(source)),
            },
            other => wooo_core::Error::invalid_spec(field, other.to_string()),
        }
    }
}

/// Looks a region up, or names the regions the file has.
fn region_entry<'a, V>(
    file: CatalogFile,
    by_region: &'a BTreeMap<String, V>,
    region: &str,
) -> Result<&'a V, CatalogError> {
    by_region.get(region).ok_or_else(|| CatalogError::UnknownRegion {
        file,
        region: region.to_string(),
        known: by_region.keys().cloned().collect(),
    })
}

/// Opens `dir/<file name>` for a catalogue's `from_dir`.
fn open_in(dir: &Path, file: CatalogFile) -> Result<File, CatalogError> {
    File::open(dir.join(file.file_name())).map_err(|source| CatalogError::Read { file, source })
}

/// Parses a price: a positive decimal number of US dollars.
fn parse_price(text: &str) -> Result<Money, String> {
    // Exact, exponent form included: no float between the file's text and the price.
    let money = Money::from_decimal_str(text, Currency::USD).map_err(|_| "not a decimal number".to_string())?;
    if money.nanos() <= 0 {
        return Err("a price must be positive (in the source, 0 means \"not scraped\", not \"free\")".to_string());
    }
    Ok(money)
}

/// The memory of a caller-given size in GiB, validated and rounded to the byte.
fn memory_from_gib(file: CatalogFile, name: &str, gib: f64) -> Result<Memory, CatalogError> {
    const GIB: f64 = (1u64 << 30) as f64;
    if !(gib.is_finite() && gib > 0.0 && gib * GIB < u64::MAX as f64) {
        return Err(CatalogError::InvalidSize {
            file,
            name: name.to_string(),
            reason: format!("memory must be a positive number of GiB, got {gib}"),
        });
    }
    Ok(Memory::from_bytes((gib * GIB).round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_must_be_positive_decimals() {
        assert_eq!(parse_price("0.096").map(Money::nanos), Ok(96_000_000));
        assert_eq!(parse_price("5.555555555555556e-05").map(Money::nanos), Ok(55_556));
        for bad in ["0", "0.0", "-0.1", "abc", "", "1e999", "0.0000000001", "1,5"] {
            assert!(parse_price(bad).is_err(), "`{bad}` accepted");
        }
        assert!(parse_price("0").unwrap_err().contains("not scraped"));
    }

    #[test]
    fn unknown_region_lists_known_ones() {
        let map: BTreeMap<String, ()> = [("b".to_string(), ()), ("a".to_string(), ())].into_iter().collect();
        let err = region_entry(CatalogFile::Gce, &map, "zz").unwrap_err();
        assert_eq!(err.to_string(), "gce.csv: unknown region `zz` (known regions: a, b)");
        assert!(region_entry(CatalogFile::Gce, &map, "a").is_ok());
    }

    #[test]
    fn converts_to_invalid_spec_naming_file_and_line() {
        let err = CatalogError::BadValue {
            file: CatalogFile::Ec2OnDemand,
            line: 7,
            column: 3,
            name: "usd_per_hour".into(),
            value: "0".into(),
            reason: "zero".into(),
        };
        assert_eq!((err.line(), err.column()), (Some(7), Some(3)));
        let core: wooo_core::Error = err.into();
        assert_eq!(core.kind(), wooo_core::ErrorKind::InvalidSpec);
        let v = core.violations();
        assert_eq!(v[0].field, "catalog.ec2_ondemand.csv:7");
        assert!(v[0].reason.contains("ec2_ondemand.csv:7:3"), "{}", v[0].reason);

        let no_line = CatalogError::UnknownRegion { file: CatalogFile::Gce, region: "x".into(), known: vec![] };
        let core: wooo_core::Error = no_line.into();
        assert_eq!(core.violations()[0].field, "catalog.gce.csv");

        let io = CatalogError::Read { file: CatalogFile::Gce, source: std::io::Error::other("disk gone") };
        let core: wooo_core::Error = io.into();
        assert_eq!(core.kind(), wooo_core::ErrorKind::Provider);
        assert!(std::error::Error::source(&core).is_some());
    }

    #[test]
    fn caller_memory_must_be_positive_and_finite() {
        assert_eq!(memory_from_gib(CatalogFile::Gce, "x", 8.0).unwrap(), Memory::from_gib(8));
        assert_eq!(memory_from_gib(CatalogFile::Gce, "x", 0.5).unwrap(), Memory::from_mib(512));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                memory_from_gib(CatalogFile::AzureOnDemand, "x", bad),
                Err(CatalogError::InvalidSize { .. })
            ));
        }
    }
}
