//! Runs the dev cluster from the library alone: `cargo run -p flotilla-devcluster --example serve -- DIR PORT`.

use std::time::Duration;

use flotilla_devcluster::{Options, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(std::path::PathBuf::from);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let handle = Server::start(Options {
        data_dir: dir.clone(),
        port,
        ..Options::default()
    })
    .await?;
    let kc = dir.unwrap_or_else(std::env::temp_dir).join("kubeconfig");
    handle.write_kubeconfig(&kc)?;
    println!("listening on {} kubeconfig {}", handle.url(), kc.display());
    tokio::signal::ctrl_c().await?;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown()).await?;
    Ok(())
}
