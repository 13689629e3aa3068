//! Prints the generated CRDs as YAML: `cargo run -p flotilla-api --example print_crds | kubectl apply -f -`.
fn main() {
    match flotilla_api::crds_yaml() {
        Ok(yaml) => print!("{yaml}"),
        Err(e) => eprintln!("{e}"),
    }
}
