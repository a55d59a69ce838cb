//! `PROGRAM man DIR` (hidden): roff manual pages for packagers.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

/// The arguments of every program's hidden `man` subcommand.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

impl ManArgs {
    /// Runs the hidden `man` subcommand of the program `C`: writes its pages
    /// into the chosen directory.
    pub fn run<C: CommandFactory>(&self, program: &str) -> Result<(), ManPageError> {
        write_man_pages::<C>(program, &self.dir).map(drop)
    }
}

/// Why the manual pages could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ManPageError {
    /// Creating the directory or writing a page failed.
    #[error("cannot write manual page {path}")]
    Write {
        /// The directory or file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `PROGRAM.1` and one `PROGRAM-SUBCOMMAND.1` per visible subcommand
/// of the program `C` into `dir`, and returns their paths.
pub fn write_man_pages<C: CommandFactory>(
    program: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ManPageError> {
    std::fs::create_dir_all(dir).map_err(|source| ManPageError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut cmd = C::command()
        .bin_name(program)
        .display_name(program)
        .disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_page(&cmd, dir, &mut written)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub, dir, &mut written)?;
    }
    Ok(written)
}

fn write_page(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), ManPageError> {
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)
        .and_then(|()| {
            let mut file = std::fs::File::create(&path)?;
            file.write_all(&page)?;
            file.flush()
        })
        .map_err(|source| ManPageError::Write {
            path: path.clone(),
            source,
        })?;
    written.push(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    #[command(name = "cgdemo", about = "a demo")]
    enum Demo {
        /// Show things
        Show,
        /// Hidden
        #[command(hide = true)]
        Secret,
    }

    #[test]
    fn writes_one_page_per_visible_command() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_man_pages::<Demo>("cgdemo", &dir.path().join("man")).unwrap();
        let names: Vec<_> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["cgdemo.1", "cgdemo-show.1"]);
        let text = std::fs::read_to_string(&pages[0]).unwrap();
        assert!(text.contains(".TH cgdemo"), "{text}");
    }

    #[test]
    fn reports_the_path_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let err = write_man_pages::<Demo>("cgdemo", &file).unwrap_err();
        assert!(err.to_string().contains("plain"), "{err}");
    }
}
