//! `ringside`: run a node, a local cluster, the console, the inspector or
//! the bench. The work is in the `ringside_native` modules.

use clap::{Parser, Subcommand};
use ringside_core::{Consistency, NodeId};
use ringside_native::cluster::supervisor::{check_node_count, Cluster, DEFAULT_NODES};
use ringside_native::cluster::{control, layout};
use ringside_native::node::server;
use ringside_native::node::server::{NodeArgs, NodeError};
use ringside_native::tools::{bench, ceiling, chaos, client, inspect, sim_cmd};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ringside",
    version,
    about = "A replicated key-value store in the style of Cassandra and Dynamo, built for teaching"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node in the foreground (stops on SIGTERM or Ctrl-C).
    Node {
        /// This node's id in the cluster file.
        #[arg(long)]
        id: NodeId,
        /// The cluster file (TOML).
        #[arg(long)]
        cluster: PathBuf,
        /// Where this node keeps its commit log.
        #[arg(long)]
        data_dir: PathBuf,
        /// Start even if the commit log is damaged in the middle (not a
        /// torn tail): keep the damaged file as commit.log.damaged-<offset>,
        /// start from every valid record in it, and log what was lost.
        #[arg(long)]
        salvage_damaged_log: bool,
    },
    /// Start, crash, restart, stop and watch a local cluster.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// The console: put, get, delete, inspect, in the seed's syntax.
    Client {
        /// The node to talk to (from the cluster file in --data-dir).
        #[arg(long, default_value_t = 0)]
        node: NodeId,
        /// The cluster's data directory.
        #[arg(long, default_value = "./data", conflicts_with = "addr")]
        data_dir: PathBuf,
        /// A node's address, instead of --data-dir and --node.
        #[arg(long)]
        addr: Option<String>,
        /// Run this line and exit (repeatable); exit code 1 if any failed.
        #[arg(long)]
        exec: Vec<String>,
        /// Print each reply's raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every node's data and hints side by side; flags keys whose replicas disagree.
    Inspect {
        /// The cluster's data directory.
        #[arg(long, default_value = "./data", conflicts_with = "addr")]
        data_dir: PathBuf,
        /// Any node's address, instead of --data-dir.
        #[arg(long)]
        addr: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the simulated cluster headless: one seeded run, a sweep of
    /// many seeds, or a speed measurement.
    Sim(sim_cmd::SimArgs),
    /// A real local cluster under concurrent clients while a nemesis kills,
    /// stops, pauses and restarts nodes; the history is checked at the end.
    Chaos(chaos::ChaosArgs),
    /// One member of a bare cluster that passes a QUORUM put's and get's
    /// messages and keeps no log, versions or state machine: what the
    /// messages cost alone, for `cargo xtask bench` (not a store).
    #[command(hide = true)]
    Ceiling {
        /// This member's id in the cluster file.
        #[arg(long)]
        id: NodeId,
        /// The cluster file (TOML); only its members and frame limit are read.
        #[arg(long)]
        cluster: PathBuf,
    },
    /// Measure put and get throughput and latency (p50, p99, p99.9) from
    /// many connections spread over every coordinator.
    Bench {
        /// A running cluster's data directory; without it, bench starts
        /// its own cluster in a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Nodes of the cluster bench starts itself.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Concurrent connections, spread over the coordinators.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Requests per client per phase.
        #[arg(long, default_value_t = 2000, conflicts_with = "seconds")]
        ops: usize,
        /// Run each phase this many seconds instead of --ops requests.
        #[arg(long)]
        seconds: Option<f64>,
        /// Consistency level.
        #[arg(long, default_value = "quorum", value_parser = parse_cl)]
        cl: Consistency,
        /// Percent of puts in one mixed phase (default: a put phase, then
        /// a get phase).
        #[arg(long)]
        mix: Option<u8>,
        /// Bytes per value.
        #[arg(long, default_value_t = 100)]
        value_bytes: usize,
        /// Keys written and read: integer keys up to 256, else string keys.
        #[arg(long, default_value_t = 256)]
        keys: usize,
        /// Sync policy of the cluster bench starts itself (batch or periodic).
        #[arg(long, value_parser = parse_sync)]
        sync: Option<ringside_native::cluster_file::SyncMode>,
        /// Requests each connection keeps in flight.
        #[arg(long, default_value_t = 1)]
        pipeline: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Follow each request through the nodes and print where its time
        /// went, step by step (one client, one request at a time, the
        /// cluster bench starts itself).
        #[arg(long)]
        timeline: bool,
        /// Write a commit log of --records writes over --keys keys into
        /// this directory instead (for replay and memory measurements).
        #[arg(long, hide = true)]
        write_log: Option<PathBuf>,
        #[arg(long, hide = true, default_value_t = 1_000_000)]
        records: usize,
    },
}

#[derive(Subcommand)]
enum ClusterAction {
    /// Write the cluster file (first time), start every node in the
    /// background, and return once all serve.
    Up {
        /// Nodes (for a new cluster file; default 4).
        #[arg(long)]
        nodes: Option<usize>,
        /// First node's port; node N listens on base + N (default 9000;
        /// `auto`: the first of as many free ports in a row, for a new
        /// cluster file).
        #[arg(long, value_parser = parse_base_port)]
        base_port: Option<BasePort>,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Crash a node (SIGKILL).
    Kill {
        id: NodeId,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Stop a node cleanly (SIGTERM).
    Stop {
        id: NodeId,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Restart a node (stopping it first if it runs); returns once it serves.
    Restart {
        id: NodeId,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Start it with `ringside node --salvage-damaged-log` (see there).
        #[arg(long)]
        salvage_damaged_log: bool,
    },
    /// Every node: address, up/down, pid, keys and hints held.
    Status {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Stop every node this data directory recorded (and the control endpoint).
    Down {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Serve the control endpoint in the foreground (`up` starts it in the
    /// background): loopback only, every request needs the control token.
    Control {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Where to listen; loopback only (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: std::net::SocketAddr,
    },
}

/// `--base-port`: a port, or `auto`.
#[derive(Clone, Copy, Debug)]
enum BasePort {
    At(u16),
    Auto,
}

fn parse_base_port(s: &str) -> Result<BasePort, String> {
    match s {
        "auto" => Ok(BasePort::Auto),
        _ => s
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .map(BasePort::At)
            .ok_or_else(|| format!("expected a port (1 to 65535) or auto, got {s:?}")),
    }
}

fn parse_cl(s: &str) -> Result<Consistency, String> {
    Consistency::parse(s)
}

fn parse_sync(s: &str) -> Result<ringside_native::cluster_file::SyncMode, String> {
    use ringside_native::cluster_file::SyncMode;
    match s.to_ascii_lowercase().as_str() {
        "batch" => Ok(SyncMode::Batch),
        "periodic" => Ok(SyncMode::Periodic),
        _ => Err(format!("expected batch or periodic, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Node {
            id,
            cluster,
            data_dir,
            salvage_damaged_log,
        } => {
            init_logging();
            match server::run_node(NodeArgs {
                id,
                cluster,
                data_dir,
                salvage_damaged_log,
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(NodeError::Config(e)) => {
                    tracing::error!("{e}");
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
                Err(NodeError::Runtime(e)) => {
                    tracing::error!("{e}");
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Cluster {
            action: ClusterAction::Control { data_dir, addr },
        } => report(serve_control(&data_dir, addr)),
        Command::Cluster { action } => report(cluster(action)),
        Command::Sim(args) => match sim_cmd::run(args) {
            0 => ExitCode::SUCCESS,
            code => ExitCode::from(code.clamp(1, 255) as u8),
        },
        Command::Ceiling { id, cluster } => {
            report(ceiling::run(id, &cluster).map(|()| String::new()))
        }
        Command::Chaos(args) => match chaos::run(args) {
            0 => ExitCode::SUCCESS,
            code => ExitCode::from(code.clamp(1, 255) as u8),
        },
        Command::Client {
            node,
            data_dir,
            addr,
            exec,
            json,
        } => {
            let target = match addr {
                Some(a) => Ok((a.clone(), a)),
                None => Cluster::new(&data_dir).load().and_then(|f| {
                    f.node(node)
                        .map(|n| (n.addr.clone(), format!("node {node}")))
                }),
            };
            let (addr, label) = match target {
                Ok(t) => t,
                Err(e) => return report(Err(e)),
            };
            match client::run(client::ConsoleArgs {
                addr,
                label,
                exec,
                json,
            }) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => report(Err(e)),
            }
        }
        Command::Inspect {
            data_dir,
            addr,
            json,
        } => {
            let members = match addr {
                Some(a) => Ok(vec![(None, a)]),
                None => Cluster::new(&data_dir).load().map(|f| {
                    f.nodes
                        .iter()
                        .map(|n| (Some(n.id), n.addr.clone()))
                        .collect()
                }),
            };
            report(members.and_then(inspect::gather).map(|v| {
                if json {
                    v.to_json()
                } else {
                    v.render().trim_end().to_string()
                }
            }))
        }
        Command::Bench {
            data_dir,
            nodes,
            clients,
            ops,
            seconds,
            cl,
            mix,
            value_bytes,
            keys,
            sync,
            pipeline,
            json,
            timeline,
            write_log,
            records,
        } => match write_log {
            Some(dir) => report(bench::write_log(&dir, records, keys, value_bytes)),
            None => report(
                bench::run(bench::BenchArgs {
                    data_dir,
                    nodes,
                    clients,
                    ops,
                    seconds,
                    cl,
                    mix,
                    value_bytes,
                    keys,
                    sync,
                    pipeline,
                    json,
                    timeline,
                })
                .map(|l| l.join("\n")),
            ),
        },
    }
}

fn cluster(action: ClusterAction) -> Result<String, String> {
    match action {
        ClusterAction::Up {
            nodes,
            base_port,
            data_dir,
        } => {
            let c = Cluster::new(&data_dir);
            let base_port = match base_port {
                Some(BasePort::At(p)) => Some(p),
                // An existing cluster file already says its ports.
                Some(BasePort::Auto) if !c.file_path().exists() => {
                    let n = nodes.unwrap_or(DEFAULT_NODES);
                    check_node_count(n)?;
                    Some(ringside_native::ports::free_port_range(n)?)
                }
                Some(BasePort::Auto) | None => None,
            };
            let up = c.up(nodes, base_port)?;
            let mut out = String::new();
            for (id, pid, addr) in up {
                let port = addr.rsplit(':').next().unwrap_or("");
                out.push_str(&format!("node {id}  pid {pid}  port {port}  ({addr})\n"));
            }
            out.push_str(&format!("cluster file: {}\n", c.file_path().display()));
            let (pid, addr, _token) = c.start_control()?;
            out.push_str(&format!(
                "control endpoint: ws://{addr}/control  pid {pid}  (token in {})",
                c.dir.join(layout::TOKEN_FILE).display()
            ));
            Ok(out)
        }
        ClusterAction::Kill { id, data_dir } => {
            let pid = Cluster::new(&data_dir).kill(id)?;
            Ok(format!("node {id} killed (SIGKILL, pid {pid})"))
        }
        ClusterAction::Stop { id, data_dir } => {
            let (pid, clean) = Cluster::new(&data_dir).stop(id)?;
            Ok(format!(
                "node {id} stopped (pid {pid}){}",
                if clean {
                    ""
                } else {
                    " with SIGKILL after SIGTERM timed out"
                }
            ))
        }
        ClusterAction::Restart {
            id,
            data_dir,
            salvage_damaged_log,
        } => {
            let flags: &[&str] = if salvage_damaged_log {
                &["--salvage-damaged-log"]
            } else {
                &[]
            };
            let pid = Cluster::new(&data_dir).restart_with(id, flags)?;
            Ok(format!("node {id} serving again (pid {pid})"))
        }
        ClusterAction::Status { data_dir } => Cluster::new(&data_dir)
            .status()
            .map(|s| s.trim_end().to_string()),
        ClusterAction::Down { data_dir } => Cluster::new(&data_dir).down().map(|l| l.join("\n")),
        ClusterAction::Control { data_dir, addr } => serve_control(&data_dir, addr),
    }
}

/// `ringside cluster control`: serves until SIGTERM or Ctrl-C.
fn serve_control(data_dir: &std::path::Path, addr: std::net::SocketAddr) -> Result<String, String> {
    control::check_loopback(&addr)?;
    let cluster = Cluster::new(data_dir);
    let file = cluster.load()?;
    let token = cluster.control_token()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        std::fs::write(cluster.dir.join(layout::ADDR_FILE), format!("{local}\n"))
            .map_err(|e| format!("cannot write {}: {e}", layout::ADDR_FILE))?;
        eprintln!("control endpoint listening on ws://{local}/control");
        let server = control::serve(
            listener,
            std::sync::Arc::new(cluster),
            std::sync::Arc::new(token),
            std::sync::Arc::new(file.allowed_origins.clone()),
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        tokio::select! {
            _ = server => {}
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok("control endpoint stopped".to_string())
    })
}

fn report(r: Result<String, String>) -> ExitCode {
    match r {
        Ok(out) => {
            if !out.is_empty() {
                println!("{out}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default (info).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        // tungstenite traces each handshake request whole, and a peer's
        // carries the cluster secret: never below debug there.
        .add_directive(
            "tungstenite::handshake=debug"
                .parse()
                .expect("a valid directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
