//! Remote bases (`enable_remote`) fetched with git from a local repository, compared with
//! `kubectl kustomize` on the same URL (kubectl clones with git too).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use flotilla_kustomize::{build, BuildOptions};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository with `base/` at tag v1, then changed on the default branch.
fn repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    write(
        dir,
        "base/kustomization.yaml",
        "resources:\n- cm.yaml\nnamePrefix: remote-\n",
    );
    write(
        dir,
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: v1\n",
    );
    write(dir, "kustomization.yaml", "resources:\n- base/cm.yaml\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "one"]);
    git(dir, &["tag", "v1"]);
    write(
        dir,
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: main\n",
    );
    git(dir, &["commit", "-qam", "two"]);
}

fn kubectl(dir: &Path) -> Option<String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl is installed");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

fn ours(dir: &Path, enable_remote: bool) -> Result<String, String> {
    let opts = BuildOptions {
        enable_remote,
        ..BuildOptions::default()
    };
    build(dir, &opts)
        .map(|o| flotilla_yaml::to_string_multi(&o.objects))
        .map_err(|e| e.to_string())
}

#[test]
fn git_bases_match_kubectl() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("repo");
    std::fs::create_dir(&r).unwrap();
    repo(&r);
    let url = format!("file://{}", r.display());
    let cases = [
        format!("{url}//base?ref=v1"),
        format!("{url}//base"),
        format!("{url}//base?version=v1&timeout=60"),
        format!("git::{url}//base?ref=v1&submodules=false"),
        format!("{url}?ref=v1"),
        format!("{url}//nope?ref=v1"),
        format!("{url}//base?ref=no-such-tag"),
        format!("{url}//../base?ref=v1"),
    ];
    for (i, res) in cases.iter().enumerate() {
        let top = tmp.path().join(format!("top{i}"));
        write(
            &top,
            "kustomization.yaml",
            &format!("resources:\n- {res}\ncommonLabels:\n  top: \"{i}\"\n"),
        );
        let want = kubectl(&top);
        let got = ours(&top, true);
        match (&want, &got) {
            (Some(w), Ok(g)) => assert_eq!(g, w, "{res}"),
            (None, Err(_)) => {}
            _ => panic!("{res}: kubectl {want:?}, flotilla {got:?}"),
        }
    }
}

#[test]
fn remote_bases_are_refused_unless_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "kustomization.yaml",
        "resources:\n- https://github.com/org/repo//base?ref=v1\n",
    );
    let err = ours(tmp.path(), false).unwrap_err();
    assert!(err.contains("remote resources are disabled"), "{err}");
    assert!(
        err.contains("https://github.com/org/repo//base?ref=v1"),
        "{err}"
    );
}

/// A loopback HTTP server (Python's http.server) serving `dir`; stopped on drop.
struct HttpServer {
    child: std::process::Child,
    port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> HttpServer {
        // Bind port 0 and print the port so parallel tests never collide.
        let script = "import http.server,functools,sys\n\
            class Quiet(http.server.SimpleHTTPRequestHandler):\n    def log_message(self,*a): pass\n\
            h=functools.partial(Quiet,directory=sys.argv[1])\n\
            s=http.server.ThreadingHTTPServer(('127.0.0.1',0),h)\n\
            print(s.server_address[1],flush=True)\n\
            s.serve_forever()\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is installed");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().unwrap();
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http_files_match_kubectl() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = tmp.path().join("srv");
    write(
        &srv,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: c\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: web\n",
    );
    write(
        &srv,
        "a/b/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n",
    );
    write(&srv, "empty.yaml", "");
    write(&srv, "bad.yaml", "a: [\n");
    write(&srv, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: x\n");
    let server = HttpServer::start(&srv);
    let base = format!("http://127.0.0.1:{}", server.port);
    let cases = [
        format!("{base}/cm.yaml"),
        format!("{base}/a/b/svc.yaml"),
        format!("{base}/a/b/svc.yaml?x=1"),
        format!("{base}/empty.yaml"),
        format!("{base}/list.yaml"),
        format!("{base}/missing.yaml"),
        format!("{base}/bad.yaml"),
        format!("{base}/a"),
        "http://127.0.0.1:1/nothing-listens.yaml".to_string(),
    ];
    for (i, res) in cases.iter().enumerate() {
        let top = tmp.path().join(format!("top{i}"));
        write(
            &top,
            "kustomization.yaml",
            &format!(
                "resources:\n- {res}\nnamePrefix: p-\nconfigMapGenerator:\n- name: g\n  literals: [k=v]\n"
            ),
        );
        let want = kubectl(&top);
        let got = ours(&top, true);
        match (&want, &got) {
            (Some(w), Ok(g)) => assert_eq!(g, w, "{res}"),
            (None, Err(_)) => {}
            _ => panic!("{res}: kubectl {want:?}, flotilla {got:?}"),
        }
    }
    // The same URL twice is a duplicate object id, as in kubectl.
    let top = tmp.path().join("twice");
    write(
        &top,
        "kustomization.yaml",
        &format!("resources:\n- {base}/cm.yaml\n- {base}/cm.yaml\n"),
    );
    assert!(kubectl(&top).is_none());
    assert!(ours(&top, true).is_err());
    // Disabled by default, naming the URL.
    let err = ours(&tmp.path().join("top0"), false).unwrap_err();
    assert!(
        err.contains(&cases[0]) && err.contains("--enable-remote"),
        "{err}"
    );
}
