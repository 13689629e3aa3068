//! `flotilla events`: events about Flux objects (events.k8s.io/v1 and core v1), oldest first.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use flotilla_ops::table::render;
use flotilla_ops::FluxKind;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use super::ctx::{block_on, connect, Ctx};
use crate::cli::{EventsArgs, GlobalArgs};
use crate::ui::fail;

/// One event, whichever API it came from.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    time: String,
    type_: String,
    reason: String,
    kind: String,
    namespace: String,
    name: String,
    message: String,
    uid: String,
}

fn resource(group: &str) -> ApiResource {
    let api_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    ApiResource {
        group: group.to_string(),
        version: "v1".into(),
        api_version,
        kind: "Event".into(),
        plural: "events".into(),
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn parse(obj: &Value, new_api: bool) -> Event {
    let (target, message, time) = if new_api {
        let time = [
            &obj["series"]["lastObservedTime"],
            &obj["eventTime"],
            &obj["deprecatedLastTimestamp"],
            &obj["metadata"]["creationTimestamp"],
        ]
        .into_iter()
        .map(s)
        .find(|t| !t.is_empty())
        .unwrap_or_default();
        (&obj["regarding"], s(&obj["note"]), time)
    } else {
        let time = [
            &obj["lastTimestamp"],
            &obj["eventTime"],
            &obj["firstTimestamp"],
            &obj["metadata"]["creationTimestamp"],
        ]
        .into_iter()
        .map(s)
        .find(|t| !t.is_empty())
        .unwrap_or_default();
        (&obj["involvedObject"], s(&obj["message"]), time)
    };
    Event {
        time,
        type_: s(&obj["type"]),
        reason: s(&obj["reason"]),
        kind: s(&target["kind"]),
        namespace: s(&target["namespace"]),
        name: s(&target["name"]),
        message,
        uid: s(&obj["metadata"]["uid"]),
    }
}

/// `5s`, `3m`, `2h`, `4d` since the time.
fn ago(time: &str) -> String {
    let Ok(t) = time.parse::<Timestamp>() else {
        return "<unknown>".to_string();
    };
    let secs = Timestamp::now()
        .as_second()
        .saturating_sub(t.as_second())
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

async fn fetch(ctx: &Ctx, all_namespaces: bool) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    for (group, new_api) in [("events.k8s.io", true), ("", false)] {
        let ar = resource(group);
        let api: Api<DynamicObject> = if all_namespaces {
            Api::all_with(ctx.cluster.client.clone(), &ar)
        } else {
            Api::namespaced_with(ctx.cluster.client.clone(), &ctx.cluster.namespace, &ar)
        };
        match api.list(&ListParams::default()).await {
            Ok(list) => events.extend(
                list.items
                    .iter()
                    .map(|o| parse(&serde_json::to_value(o).unwrap_or(Value::Null), new_api)),
            ),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(ctx.api_error(e)),
        }
    }
    // Servers that store one event under both APIs show it twice.
    events.sort_by(|a, b| a.time.cmp(&b.time).then(a.uid.cmp(&b.uid)));
    events.dedup_by(|a, b| a.uid == b.uid && !a.uid.is_empty());
    Ok(events)
}

pub fn run(global: GlobalArgs, args: EventsArgs) -> anyhow::Result<ExitCode> {
    let filter = match &args.for_object {
        Some(f) => {
            let (kind, name) = f.split_once('/').ok_or_else(|| {
                fail(
                    2,
                    format!("invalid --for {f:?}: expected Kind/name, e.g. Kustomization/apps"),
                )
            })?;
            let kind = FluxKind::parse(kind).map_err(|e| fail(2, e.to_string()))?;
            Some((kind.kind().to_string(), name.to_string()))
        }
        None => None,
    };
    block_on(async move {
        let ctx = connect(&global).await?;
        let keep = |e: &Event| match &filter {
            Some((k, n)) => &e.kind == k && &e.name == n,
            None => FluxKind::parse(&e.kind).is_ok(),
        };
        let row = |e: &Event| {
            let mut r = Vec::new();
            if args.all_namespaces {
                r.push(e.namespace.clone());
            }
            r.extend([
                ago(&e.time),
                e.type_.clone(),
                e.reason.clone(),
                format!("{}/{}", e.kind, e.name),
                e.message.clone(),
            ]);
            r
        };
        let mut header = vec!["Last seen", "Type", "Reason", "Object", "Message"];
        if args.all_namespaces {
            header.insert(0, "Namespace");
        }
        let mut seen: std::collections::HashSet<(String, String)> = Default::default();
        let events = fetch(&ctx, args.all_namespaces).await?;
        let shown: Vec<&Event> = events.iter().filter(|e| keep(e)).collect();
        for e in &events {
            seen.insert((e.uid.clone(), e.time.clone()));
        }
        let mut out = std::io::stdout().lock();
        if shown.is_empty() && !args.watch {
            drop(out);
            ctx.ui.failure(&format!(
                "no events found in {}",
                if args.all_namespaces {
                    "any namespace".to_string()
                } else {
                    format!("\"{}\" namespace", ctx.cluster.namespace)
                }
            ));
            return Ok(ExitCode::SUCCESS);
        }
        let rows: Vec<Vec<String>> = shown.iter().map(|e| row(e)).collect();
        out.write_all(render(&header, &rows).as_bytes())?;
        out.flush()?;
        drop(out);
        if !args.watch {
            return Ok(ExitCode::SUCCESS);
        }
        // Polling keeps one code path for both event APIs; a second is well within "live".
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            }
            let events = fetch(&ctx, args.all_namespaces).await?;
            let mut rows = Vec::new();
            for e in &events {
                if seen.insert((e.uid.clone(), e.time.clone())) && keep(e) {
                    rows.push(row(e));
                }
            }
            if !rows.is_empty() {
                let mut out = std::io::stdout().lock();
                out.write_all(render(&[], &rows).as_bytes())?;
                out.flush()?;
            }
        }
    })?
}
