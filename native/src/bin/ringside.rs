//! `ringside`: run a node, a local cluster, the console, the inspector or
//! the bench. The work is in the `ringside_native` modules.

use clap::{Parser, Subcommand};
use ringside_core::{Consistency, NodeId};
use ringside_native::server::{NodeArgs, NodeError};
use ringside_native::supervisor::Cluster;
use ringside_native::{bench, client, inspect, server};
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
    /// Measure put and get throughput and latency.
    Bench {
        /// A running cluster's data directory; without it, bench starts
        /// its own cluster in a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Nodes of the cluster bench starts itself.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Concurrent clients, spread over the coordinators.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// Requests per client per phase.
        #[arg(long, default_value_t = 2000)]
        ops: usize,
        /// Consistency level.
        #[arg(long, default_value = "quorum", value_parser = parse_cl)]
        cl: Consistency,
        /// Bytes per value.
        #[arg(long, default_value_t = 100)]
        value_bytes: usize,
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
        /// First node's port; node N listens on base + N (default 9000).
        #[arg(long)]
        base_port: Option<u16>,
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
    },
    /// Every node: address, up/down, pid, keys and hints held.
    Status {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Stop every node this data directory recorded.
    Down {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
}

fn parse_cl(s: &str) -> Result<Consistency, String> {
    Consistency::parse(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Node {
            id,
            cluster,
            data_dir,
        } => {
            init_logging();
            match server::run_node(NodeArgs {
                id,
                cluster,
                data_dir,
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
        Command::Cluster { action } => report(cluster(action)),
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
            cl,
            value_bytes,
        } => report(
            bench::run(bench::BenchArgs {
                data_dir,
                nodes,
                clients,
                ops,
                cl,
                value_bytes,
            })
            .map(|l| l.join("\n")),
        ),
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
            let up = c.up(nodes, base_port)?;
            let mut out = String::new();
            for (id, pid, addr) in up {
                let port = addr.rsplit(':').next().unwrap_or("");
                out.push_str(&format!("node {id}  pid {pid}  port {port}  ({addr})\n"));
            }
            out.push_str(&format!("cluster file: {}", c.file_path().display()));
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
        ClusterAction::Restart { id, data_dir } => {
            let pid = Cluster::new(&data_dir).restart(id)?;
            Ok(format!("node {id} serving again (pid {pid})"))
        }
        ClusterAction::Status { data_dir } => Cluster::new(&data_dir)
            .status()
            .map(|s| s.trim_end().to_string()),
        ClusterAction::Down { data_dir } => Cluster::new(&data_dir).down().map(|l| l.join("\n")),
    }
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
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
