//! [`UsageFile`]: usage samples read from a CSV or JSON file, for offline analysis.

use std::io::Read;
use std::path::Path;

use async_trait::async_trait;
use jiff::Timestamp;
use wooo_core::model::{ClusterId, Cpu, Memory, TimeWindow, UsageSample, WorkloadRef};
use wooo_core::{Error, Result};

use crate::sources::UsageSource;

/// The header a usage CSV starts with.
pub const USAGE_CSV_HEADER: &str = "time,namespace,workload,cpu,memory";

/// Usage samples from a file, the same for every cluster (a file describes one cluster).
///
/// **CSV** ([`UsageFile::from_csv`]): the header [`USAGE_CSV_HEADER`], then one sample per line: an RFC 3339
/// time, the workload's namespace and name, CPU used and working-set memory summed over its replicas, as
/// Kubernetes quantities (`250m`, `1.5`, `512Mi`, `1Gi`, or plain numbers of cores and bytes). Blank lines and
/// lines starting with `#` are skipped.
///
/// ```text
/// time,namespace,workload,cpu,memory
/// 2025-06-01T00:00:00Z,shop,web,420m,900Mi
/// ```
///
/// **JSON** ([`UsageFile::from_json`]): an array of samples as [`UsageSample`] serializes them:
/// `[{"workload": {"namespace": "shop", "name": "web"}, "at": "2025-06-01T00:00:00Z", "cpu": "420m", "memory":
/// "900Mi"}]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageFile {
    samples: Vec<UsageSample>,
}

impl UsageFile {
    /// Samples already in memory.
    pub fn new(samples: Vec<UsageSample>) -> Self {
        Self { samples }
    }

    /// The samples, in file order.
    pub fn samples(&self) -> &[UsageSample] {
        &self.samples
    }

    /// The smallest window holding every sample: first sample to one `step` after the last; `None` when empty.
    pub fn window(&self, step: std::time::Duration) -> Option<TimeWindow> {
        let first = self.samples.iter().map(|s| s.at).min()?;
        let last = self.samples.iter().map(|s| s.at).max()?;
        let step = jiff::SignedDuration::try_from(step).ok()?;
        Some(TimeWindow::new(first, last.checked_add(step).ok()?))
    }

    /// Reads a file: JSON when its name ends in `.json`, CSV otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the file (`usage`) when it cannot be read, and the errors of the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_spec("usage", format!("cannot read {}: {e}", path.display())))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Self::from_json(text.as_bytes())
        } else {
            Self::from_csv(text.as_bytes())
        }
    }

    /// Reads CSV (see the type's documentation).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] with field `usage[line N]` (1-based) and the column at fault, for a wrong header,
    /// a wrong number of columns, a time that is not RFC 3339, an empty namespace or workload, or a quantity that
    /// does not parse.
    pub fn from_csv(mut reader: impl Read) -> Result<Self> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| Error::invalid_spec("usage", format!("cannot read: {e}")))?;
        let mut samples = Vec::new();
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            let field = || format!("usage[line {}]", index + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !header_seen {
                if line != USAGE_CSV_HEADER {
                    return Err(Error::invalid_spec(field(), format!("expected the header `{USAGE_CSV_HEADER}`")));
                }
                header_seen = true;
                continue;
            }
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let [time, namespace, workload, cpu, memory] = cols[..] else {
                return Err(Error::invalid_spec(field(), format!("expected 5 columns, got {}", cols.len())));
            };
            let at: Timestamp =
                time.parse().map_err(|e| Error::invalid_spec(field(), format!("time `{time}`: {e}")))?;
            if namespace.is_empty() || workload.is_empty() {
                return Err(Error::invalid_spec(field(), "namespace and workload must not be empty"));
            }
            let cpu: Cpu = cpu.parse().map_err(|e| Error::invalid_spec(field(), format!("cpu `{cpu}`: {e}")))?;
            let memory: Memory =
                memory.parse().map_err(|e| Error::invalid_spec(field(), format!("memory `{memory}`: {e}")))?;
            samples.push(UsageSample { workload: WorkloadRef::new(namespace, workload), at, cpu, memory });
        }
        if !header_seen {
            return Err(Error::invalid_spec("usage", format!("empty: expected the header `{USAGE_CSV_HEADER}`")));
        }
        Ok(Self { samples })
    }

    /// Reads JSON (see the type's documentation).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] with field `usage` and the path inside the file of what does not parse.
    pub fn from_json(reader: impl Read) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_reader(reader);
        let samples: Vec<UsageSample> = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| Error::invalid_spec("usage", format!("at `{}`: {}", e.path(), e.inner())))?;
        Ok(Self { samples })
    }
}

#[async_trait]
impl UsageSource for UsageFile {
    async fn usage(&self, _cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>> {
        Ok(self.samples.iter().filter(|s| window.contains(s.at)).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn csv_reads_quantities_and_names_the_line_at_fault() {
        let csv = "# exported\ntime,namespace,workload,cpu,memory\n\n2025-06-01T00:00:00Z,shop,web,420m,900Mi\n\
                   2025-06-01T01:00:00Z, shop , web ,1.5,1073741824\n";
        let file = UsageFile::from_csv(csv.as_bytes()).unwrap();
        let s = file.samples();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].workload.clone(), s[0].cpu, s[0].memory),
            (WorkloadRef::new("shop", "web"), Cpu::from_millis(420), Memory::from_mib(900))
        );
        assert_eq!((s[1].cpu, s[1].memory), (Cpu::from_millis(1500), Memory::from_gib(1)));
        let w = file.window(Duration::from_secs(3600)).unwrap();
        assert_eq!(
            (w.start.to_string(), w.end.to_string()),
            ("2025-06-01T00:00:00Z".into(), "2025-06-01T02:00:00Z".into())
        );

        let field = |csv: &str| UsageFile::from_csv(csv.as_bytes()).unwrap_err().violations()[0].field.clone();
        assert_eq!(field("time,ns,workload,cpu,memory\n"), "usage[line 1]");
        assert_eq!(
            field("time,namespace,workload,cpu,memory\n2025-06-01T00:00:00Z,shop,web,lots,1Mi\n"),
            "usage[line 2]"
        );
        assert_eq!(field("time,namespace,workload,cpu,memory\nyesterday,shop,web,1,1Mi\n"), "usage[line 2]");
        assert_eq!(field("time,namespace,workload,cpu,memory\n2025-06-01T00:00:00Z,shop,web,1\n"), "usage[line 2]");
        assert_eq!(field(""), "usage");
    }

    #[test]
    fn json_reads_samples_and_names_the_path() {
        let json = r#"[{"workload":{"namespace":"shop","name":"web"},"at":"2025-06-01T00:00:00Z","cpu":"420m","memory":"900Mi"}]"#;
        let file = UsageFile::from_json(json.as_bytes()).unwrap();
        assert_eq!(file.samples()[0].cpu, Cpu::from_millis(420));
        let err = UsageFile::from_json(
            r#"[{"workload":{"namespace":"shop","name":"web"},"at":"x","cpu":"1","memory":"1"}]"#.as_bytes(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("[0].at"), "{err}");
    }

    #[tokio::test]
    async fn the_source_returns_the_samples_in_the_window() {
        let csv = "time,namespace,workload,cpu,memory\n2025-06-01T00:00:00Z,shop,web,1,1Mi\n2025-06-01T05:00:00Z,shop,web,1,1Mi\n";
        let file = UsageFile::from_csv(csv.as_bytes()).unwrap();
        let w = TimeWindow::new("2025-06-01T00:00:00Z".parse().unwrap(), "2025-06-01T05:00:00Z".parse().unwrap());
        assert_eq!(file.usage(&ClusterId::new("any"), &w).await.unwrap().len(), 1, "the end is exclusive");
    }
}
