//! Debian's `docker-registry` (the Distribution registry) as a child process on a loopback port, anonymous, stoppable and restartable on the same port and storage.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the registry (`apt-get install docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Why the registry could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The binary is not installed.
    #[error("{0} is missing: install it with 'apt-get install docker-registry'")]
    Missing(PathBuf),
    /// Files under the registry's directory could not be written, or no port was free.
    #[error("preparing the registry in {dir}: {source}")]
    Io {
        /// The registry's directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The process did not listen within 20 s; `log` is its output.
    #[error("the registry did not start on 127.0.0.1:{port}: {log}")]
    NotListening {
        /// The port.
        port: u16,
        /// Its log.
        log: String,
    },
}

/// A running (or stopped) registry; killed on drop.
pub struct LocalRegistry {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl LocalRegistry {
    /// Starts `bin serve` with storage and config under `dir`, on a free loopback port.
    pub fn start(bin: &Path, dir: &Path) -> Result<LocalRegistry, RegistryError> {
        if !bin.exists() {
            return Err(RegistryError::Missing(bin.to_path_buf()));
        }
        let io = |source| RegistryError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io)?
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: flotilla-example\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), config).map_err(io)?;
        let mut registry = LocalRegistry {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        registry.restart()?;
        Ok(registry)
    }

    /// `127.0.0.1:<port>`, the registry host in image names.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the process (the registry is down; its storage stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same port and storage, and waits until it listens.
    pub fn restart(&mut self) -> Result<(), RegistryError> {
        self.stop();
        let io = |source| RegistryError::Io {
            dir: self.dir.clone(),
            source,
        };
        let log = std::fs::File::create(self.dir.join("registry.log")).map_err(io)?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg(self.dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io)?)
            .stderr(log)
            .spawn()
            .map_err(io)?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
                self.stop();
                return Err(RegistryError::NotListening {
                    port: self.port,
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
