//! The only code that writes files. Each file is written whole: to a
//! temporary name in the same directory, then renamed over the target, so a
//! reader (or a run killed half-way) never sees half a report.

use crate::outcome::Outcome;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes the run's reports into `dir` (created if needed): `report.json`
/// (the CI contract) and `report.txt` (what `mqsim run` printed).
pub fn write_run(dir: &Path, outcome: &Outcome, reproduce: &str) -> io::Result<Vec<PathBuf>> {
    write_files(
        dir,
        &[
            ("report.json", outcome.to_json()),
            ("report.txt", outcome.render_text(reproduce)),
        ],
    )
}

/// Writes each `(name, contents)` atomically into `dir`.
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let target = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(contents.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &target)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(with_path(e, &target));
        }
        written.push(target);
    }
    Ok(written)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("mqsim-report-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let written = write_files(&dir, &[("a.txt", "hello\n".into())]).unwrap();
        assert_eq!(written, vec![dir.join("a.txt")]);
        assert_eq!(fs::read_to_string(dir.join("a.txt")).unwrap(), "hello\n");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
