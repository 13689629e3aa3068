//! Reads a YAML stream on stdin and prints it as kubectl kustomize would (a debugging aid).

use std::io::Read;

fn main() {
    let mut src = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut src) {
        eprintln!("reading stdin: {e}");
        std::process::exit(1);
    }
    match flotilla_yaml::from_str_multi(&src) {
        Ok(docs) => print!("{}", flotilla_yaml::to_string_multi(&docs)),
        Err(e) => {
            eprintln!("{}", e.with_file("<stdin>"));
            std::process::exit(1);
        }
    }
}
