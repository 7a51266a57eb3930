//! Report folders, replaced as a whole: the files are written into a sibling folder
//! (`.bh-tmp-*`), which then takes the old folder's place in one step (`renameat2` with
//! `RENAME_EXCHANGE` on Linux; elsewhere, or where the file system refuses it, the old folder is
//! renamed aside and the new one in, with nothing in between that a signal could interrupt). An
//! interrupted or failed write (a signal, a full disk) leaves the old folder as it was and no
//! temporary file behind; a reader sees the old folder or the new one, never a mix.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::HarnessError;
use crate::fsutil::{TEMP_PREFIX, TempPath, exclusive, temp_dir, temp_name, track};

/// The files a report folder may hold: what `run`, `matrix`, `report` and `compare` write.
pub const REPORT_FILES: &[&str] = &[
    "report.json",
    "summary.md",
    "junit.xml",
    "index.html",
    "run.json",
    "matrix.json",
];

/// Refuses a folder that holds anything but report files (and leftovers of interrupted writes):
/// replacing it would delete them. A missing folder is fine.
pub fn check_replaceable(dir: &Path) -> Result<(), HarnessError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(HarnessError::Usage(format!(
                "{} is a file, not a report folder",
                dir.display()
            )));
        }
        Err(source) => {
            return Err(HarnessError::Write {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut foreign: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !REPORT_FILES.contains(&name.as_str())
                && !name.starts_with(TEMP_PREFIX)
                && !name.starts_with(".tmp")
        })
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let more = foreign.len().saturating_sub(5);
    foreign.truncate(5);
    Err(HarnessError::Usage(format!(
        "{} holds files a report does not write ({}{}): a report folder is replaced as a whole, \
         so name a new or empty folder",
        dir.display(),
        foreign.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )))
}

/// Writes `files` as the folder `dir`, replacing what was there as a whole.
pub fn write_folder(dir: &Path, files: &[(&str, String)]) -> Result<(), HarnessError> {
    write_folder_with(dir, files, write_file)
}

/// [`write_folder`], each file written by `write` (tests make it fail).
pub fn write_folder_with(
    dir: &Path,
    files: &[(&str, String)],
    write: impl Fn(&Path, &str) -> io::Result<()>,
) -> Result<(), HarnessError> {
    check_replaceable(dir)?;
    let error = |path: PathBuf| move |source| HarnessError::Write { path, source };
    let dir = resolve(dir).map_err(error(dir.to_path_buf()))?;
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(HarnessError::Usage(format!(
            "{} cannot be a report folder: name a folder",
            dir.display()
        )));
    };
    std::fs::create_dir_all(parent).map_err(error(parent.to_path_buf()))?;
    let name = name.to_string_lossy();
    let temp = temp_dir(parent, &name).map_err(error(dir.clone()))?;
    for (file, text) in files {
        write(&temp.path().join(file), text).map_err(error(dir.join(file)))?;
    }
    let old = swap(temp, &dir, &name, exchange).map_err(error(dir.clone()))?;
    drop(old); // removes the old folder, now under a temporary name
    Ok(())
}

/// `dir` as an absolute path, a symbolic link resolved to the folder it names.
fn resolve(dir: &Path) -> io::Result<PathBuf> {
    if std::fs::symlink_metadata(dir).is_ok() {
        dir.canonicalize()
    } else {
        std::path::absolute(dir)
    }
}

/// Writes one new file (in the temporary folder), synced to disk. It is created where a signal's
/// cleanup cannot interleave: the cleanup removing the folder never races a file appearing in it.
fn write_file(path: &Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = exclusive(|| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)
    })?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Puts the folder `temp` in the place of `dir` (by `exchange` when it can); returns the old
/// folder, under a temporary name, for the caller to remove.
fn swap(
    temp: TempPath,
    dir: &Path,
    name: &str,
    exchange: fn(&Path, &Path) -> io::Result<()>,
) -> io::Result<Option<TempPath>> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    exclusive(move || match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::rename(temp.path(), dir)?;
            temp.forget();
            Ok(None)
        }
        Err(e) => Err(e),
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file is in the way of the report folder",
        )),
        Ok(_) => {
            if exchange(temp.path(), dir).is_ok() {
                // `temp` now holds the old folder.
                return Ok(Some(temp));
            }
            let aside = track(temp_name(parent, &format!("{name}-old")));
            std::fs::rename(dir, aside.path())?;
            if let Err(e) = std::fs::rename(temp.path(), dir) {
                std::fs::rename(aside.path(), dir)?;
                aside.forget();
                return Err(e);
            }
            temp.forget();
            Ok(Some(aside))
        }
    })
}

/// Swaps two paths atomically (`renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call; renameat2 has no memory effects.
    let result = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_folder_is_replaced_as_a_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        write_folder(
            &dir,
            &[("summary.md", "old".into()), ("junit.xml", "old".into())],
        )
        .unwrap();
        write_folder(
            &dir,
            &[("summary.md", "new".into()), ("report.json", "new".into())],
        )
        .unwrap();
        assert_eq!(listing(&dir), ["report.json", "summary.md"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("summary.md")).unwrap(),
            "new"
        );
        assert_eq!(listing(root.path()), ["out"], "no temporary folder is left");
    }

    #[test]
    fn a_failed_write_names_the_file_and_keeps_the_old_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        write_folder(
            &dir,
            &[("summary.md", "old".into()), ("index.html", "old".into())],
        )
        .unwrap();
        let full = |path: &Path, text: &str| {
            if path.ends_with("index.html") {
                Err(io::Error::from_raw_os_error(libc::ENOSPC))
            } else {
                write_file(path, text)
            }
        };
        let error = write_folder_with(
            &dir,
            &[("summary.md", "new".into()), ("index.html", "new".into())],
            full,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(&dir.join("index.html").display().to_string()),
            "{error}"
        );
        assert!(error.contains("No space left on device"), "{error}");
        assert_eq!(
            std::fs::read_to_string(dir.join("summary.md")).unwrap(),
            "old"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("index.html")).unwrap(),
            "old"
        );
        assert_eq!(listing(root.path()), ["out"], "no temporary folder is left");
    }

    #[test]
    fn a_folder_holding_other_files_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(root.path().join("summary.md"), "old").unwrap();
        let error = write_folder(root.path(), &[("summary.md", "new".into())])
            .unwrap_err()
            .to_string();
        assert!(error.contains("notes.txt"), "{error}");
        assert_eq!(
            std::fs::read_to_string(root.path().join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn the_swap_falls_back_to_two_renames() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("summary.md"), "old").unwrap();
        let temp = temp_dir(root.path(), "out").unwrap();
        std::fs::write(temp.path().join("summary.md"), "new").unwrap();
        let refused = |_: &Path, _: &Path| Err(io::Error::from(io::ErrorKind::Unsupported));
        let old = swap(temp, &dir, "out", refused)
            .unwrap()
            .expect("the old folder");
        assert_eq!(
            std::fs::read_to_string(old.path().join("summary.md")).unwrap(),
            "old"
        );
        drop(old);
        assert_eq!(
            std::fs::read_to_string(dir.join("summary.md")).unwrap(),
            "new"
        );
        assert_eq!(listing(root.path()), ["out"]);
    }
}
