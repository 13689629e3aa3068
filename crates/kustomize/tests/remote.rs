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
        HttpServer::start_tls(dir, None)
    }

    /// With `tls` = (certificate chain, key) files, serves HTTPS.
    fn start_tls(dir: &Path, tls: Option<(&Path, &Path)>) -> HttpServer {
        // Bind port 0 and print the port so parallel tests never collide.
        let script = "import http.server,functools,sys,ssl\n\
            class Quiet(http.server.SimpleHTTPRequestHandler):\n    def log_message(self,*a): pass\n\
            h=functools.partial(Quiet,directory=sys.argv[1])\n\
            s=http.server.ThreadingHTTPServer(('127.0.0.1',0),h)\n\
            if len(sys.argv)>3:\n    c=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n    c.load_cert_chain(sys.argv[2],sys.argv[3])\n    s.socket=c.wrap_socket(s.socket,server_side=True)\n\
            print(s.server_address[1],flush=True)\n\
            s.serve_forever()\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(dir)
            .args(tls.map(|(c, k)| [c, k]).into_iter().flatten())
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

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a loopback server certificate signed by it: `ca.pem`, `chain.pem`, `leaf.key`.
fn loopback_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-subj",
        "/CN=flotilla test CA",
        "-days",
        "2",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &ca);
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-subj",
        "/CN=localhost",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    openssl(dir, &req);
    write(
        dir,
        "leaf.ext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "leaf.pem",
            "-extfile",
            "leaf.ext",
        ],
    );
    let chain = std::fs::read_to_string(dir.join("leaf.pem")).unwrap();
    write(dir, "chain.pem", &chain);
}

fn kubectl_with_ca(dir: &Path, ca: &Path) -> Option<String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .env("SSL_CERT_FILE", ca)
        .output()
        .expect("kubectl is installed");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

#[test]
fn https_files_match_kubectl() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    loopback_certificates(&pki);
    let srv = tmp.path().join("srv");
    write(
        &srv,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n",
    );
    let server = HttpServer::start_tls(&srv, Some((&pki.join("chain.pem"), &pki.join("leaf.key"))));
    let base = format!("https://127.0.0.1:{}", server.port);
    let top = tmp.path().join("top");
    write(
        &top,
        "kustomization.yaml",
        &format!("resources:\n- {base}/cm.yaml\nnamePrefix: p-\n"),
    );
    let missing = tmp.path().join("missing");
    write(
        &missing,
        "kustomization.yaml",
        &format!("resources:\n- {base}/missing.yaml\n"),
    );
    // Untrusted before the CA is configured: both refuse the certificate.
    assert!(
        kubectl(&top).is_none(),
        "kubectl trusted the test CA without SSL_CERT_FILE"
    );
    let err = ours(&top, true).unwrap_err();
    assert!(err.contains("cm.yaml"), "{err}");
    // Both read extra roots from SSL_CERT_FILE (Go's crypto/x509 and rustls-native-certs).
    // Set for the whole test process: the other tests here use plain HTTP or git.
    let ca = pki.join("ca.pem");
    std::env::set_var("SSL_CERT_FILE", &ca);
    let want = kubectl_with_ca(&top, &ca).expect("kubectl fetches over HTTPS with the test CA");
    assert_eq!(ours(&top, true).unwrap(), want);
    assert!(want.contains("name: p-web"), "{want}");
    assert!(kubectl_with_ca(&missing, &ca).is_none());
    assert!(ours(&missing, true).is_err());
}
