//! `ringside client`: the console, in the seed's syntax (`put 137 value137
//! quorum`, `get 137 one`, `delete 137 all`), with line editing and history.
//! Every reply is printed readably, or raw with `--json`. A bad line gets a
//! one-line error and the console goes on.

use crate::cluster::supervisor::runtime;
use crate::tools::inspect::describe_hint;
use crate::wsclient::{Answer, Conn};
use ringside_core::protocol::{
    parse_console_line, ConsoleCommand, InspectNode, ServerFrame, CONSOLE_HELP,
};
use ringside_core::Reply;
use std::time::Duration;

/// How long the console waits for a reply; a little over the node's own
/// request timeout, so the node's `Timeout` answer arrives first.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct ConsoleArgs {
    pub addr: String,
    /// For the prompt.
    pub label: String,
    pub exec: Vec<String>,
    pub json: bool,
}

/// Runs the console. Returns Ok(true) when every line succeeded.
pub fn run(args: ConsoleArgs) -> Result<bool, String> {
    let rt = runtime()?;
    let mut conn = rt.block_on(Conn::connect(&args.addr, Duration::from_secs(3)))?;
    if !args.exec.is_empty() {
        let mut all_ok = true;
        for line in &args.exec {
            match one_line(&rt, &mut conn, line, args.json) {
                Step::Done(ok) => all_ok &= ok,
                Step::Exit => break,
            }
        }
        return Ok(all_ok);
    }
    let mut editor = rustyline::DefaultEditor::new()
        .map_err(|e| format!("cannot start the line editor: {e}"))?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".ringside_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "connected to {} ({}); type help for the commands, exit or Ctrl-D to leave",
        args.label, args.addr
    );
    let prompt = format!("{}> ", args.label);
    let mut all_ok = true;
    loop {
        match editor.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match one_line(&rt, &mut conn, &line, args.json) {
                    Step::Done(ok) => all_ok &= ok,
                    Step::Exit => break,
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(format!("cannot read a line: {e}")),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(all_ok)
}

enum Step {
    Done(bool),
    Exit,
}

fn one_line(rt: &tokio::runtime::Runtime, conn: &mut Conn, line: &str, json: bool) -> Step {
    let cmd = match parse_console_line(line) {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e}");
            return Step::Done(false);
        }
    };
    let result = match cmd {
        ConsoleCommand::Empty => return Step::Done(true),
        ConsoleCommand::Exit => return Step::Exit,
        ConsoleCommand::Help => {
            println!("{CONSOLE_HELP}");
            return Step::Done(true);
        }
        ConsoleCommand::Inspect => rt.block_on(conn.inspect(REPLY_TIMEOUT)).map(|(node, raw)| {
            if json {
                (raw, true)
            } else {
                (describe_inspect(&node), true)
            }
        }),
        ConsoleCommand::Data(request) => {
            rt.block_on(conn.request(&request, REPLY_TIMEOUT)).map(|a| {
                let (text, ok) = describe(&a);
                if json {
                    (a.raw, ok)
                } else {
                    (text, ok)
                }
            })
        }
    };
    match result {
        Ok((text, ok)) => {
            println!("{text}");
            Step::Done(ok)
        }
        Err(e) => {
            println!("error: {e}");
            // Reconnect for the next line if the connection is gone.
            if let Ok(c) = rt.block_on(Conn::connect(&conn.addr.clone(), Duration::from_secs(2))) {
                *conn = c;
            }
            Step::Done(false)
        }
    }
}

/// A reply, readably, and whether it is a success.
pub fn describe(a: &Answer) -> (String, bool) {
    match &a.frame {
        ServerFrame::Reply { reply, .. } => match reply {
            Reply::Written { ts } => (format!("ok (ts {ts})"), true),
            Reply::Read { kv: Some(kv) } => (
                format!(
                    "{} = {} (ts {})",
                    kv.key,
                    kv.value.as_deref().unwrap_or("(deleted)"),
                    kv.ts
                ),
                true,
            ),
            Reply::Read { kv: None } => ("(no value)".into(), true),
            Reply::Error { kind, message } => (format!("{kind}: {message}"), false),
        },
        ServerFrame::Ok { .. } => ("ok".into(), true),
        ServerFrame::Inspect { node, .. } => (describe_inspect(node), true),
        ServerFrame::Event(e) => (format!("event: {e:?}"), true),
    }
}

/// One node's `inspect`, readably.
pub fn describe_inspect(n: &InspectNode) -> String {
    let mut out = format!(
        "node {} at {}: {} keys, {} hints, log {} records ({} bytes)\n",
        n.id,
        n.addr,
        n.data.len(),
        n.hints.len(),
        n.log.records,
        n.log.bytes
    );
    let peers: Vec<String> = n
        .peers
        .iter()
        .map(|p| format!("{} {}", p.node, p.state))
        .collect();
    out.push_str(&format!("peers: {}\n", peers.join(", ")));
    for kv in &n.data {
        out.push_str(&format!(
            "  {} = {} (ts {})\n",
            kv.key,
            kv.value.as_deref().unwrap_or("(deleted)"),
            kv.ts
        ));
    }
    for h in &n.hints {
        out.push_str(&format!("  {}\n", describe_hint(h)));
    }
    out.trim_end().to_string()
}
