//! `mqsim bench`: how fast the harness simulates, as ratios against
//! baselines measured in the same process (these machines are noisy, so an
//! absolute figure from one run says little). Wall time is measured here
//! and only here, with `std::time::Instant`: it never reaches a simulation.

use harness::check::check;
use harness::explore::sweep;
use harness::history::Event;
use harness::scenario;
use harness::scenario::Metric;
use serde::Serialize;
use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// One measured figure beside its target.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// What the figure is compared with (`>=` or `<=` `target`).
    pub cmp: &'static str,
    pub target: f64,
    pub met: bool,
    /// How it was obtained.
    pub how: String,
}

impl Figure {
    fn new(
        name: &'static str,
        value: f64,
        unit: &'static str,
        cmp: &'static str,
        target: f64,
    ) -> Figure {
        let met = match cmp {
            ">=" => value >= target,
            _ => value <= target,
        };
        Figure {
            name,
            value,
            unit,
            cmp,
            target,
            met,
            how: String::new(),
        }
    }

    fn how(mut self, how: String) -> Figure {
        self.how = how;
        self
    }
}

/// mqsim's pipeline with hosts added that run nothing, for (f).
struct WithIdleHosts {
    pipeline: models::Pipeline,
    idle: usize,
}

impl harness::model::Model for WithIdleHosts {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &harness::model::Env) {
        self.pipeline.install(sim, env);
        for i in 0..self.idle {
            sim.host(format!("idle-{i}"), || async {
                std::future::pending::<()>().await;
                Ok(())
            });
        }
    }

    fn sample(&self, at_us: u64) -> harness::history::Sample {
        self.pipeline.sample(at_us)
    }

    fn inventory(&self) -> harness::history::Inventory {
        self.pipeline.inventory()
    }

    fn max_connections_per_host(&self, scenario: &scenario::Scenario) -> usize {
        self.pipeline.max_connections_per_host(scenario)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Bench {
    pub quick: bool,
    pub figures: Vec<Figure>,
}

/// Sizes of one bench run.
struct Size {
    /// Messages of the floor (a) and the model (b) runs.
    messages: u64,
    /// Their rate per simulated second.
    rate: u64,
    /// Seeds of the explore measurement (e), per job count.
    seeds: u64,
}

pub fn run(quick: bool, flagship: &Path) -> Result<Bench, String> {
    let size = if quick {
        Size {
            messages: 5_000,
            rate: 5_000,
            seeds: 4,
        }
    } else {
        Size {
            messages: 100_000,
            rate: 10_000,
            seeds: 16,
        }
    };
    let mut figures = Vec::new();

    // Short runs are timed best of `tries`: the first run of a process pays
    // for page faults and allocator growth, and the machine is shared (on
    // the 2-core machine, one run in three or four is 10-40 % slow).
    let tries = if quick { 1 } else { 5 };

    // (a) the floor: raw turmoil, simplest actors, no History.
    let floor_wall = best_of(tries, || floor(size.messages, size.rate, 0))?;
    let floor_rate = size.messages as f64 / floor_wall.as_secs_f64();
    figures.push(
        Figure::new("floor_messages_per_s", floor_rate, "msg/s", ">=", 0.0).how(format!(
            "(a) {} messages at {}/s producer → broker → consumer over turmoil TCP, 1 ms tick, no History: {:.3} s (best of {tries})",
            size.messages,
            size.rate,
            floor_wall.as_secs_f64()
        )),
    );

    // (b) the same messages through mqsim's models and History.
    let secs = size.messages / size.rate;
    let text = format!(
        r#"name = "bench-models"
summary = "the floor's load through mqsim's models"
duration = "{secs}s"
drain = "1s"
[workload]
rate = "{}/s"
[broker]
acks = 1
"#,
        size.rate
    );
    let sc = scenario::parse(Path::new("bench-models.toml"), &text).map_err(|e| e.to_string())?;
    // The simulation with its History, as (a) is the simulation alone;
    // checking the History is (d)'s figure.
    let model_wall = best_of(tries, || {
        harness::driver::run(&sc, 1, &models::Pipeline::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let run = harness::run(&sc, 1, &models::Pipeline::new()).map_err(|e| e.to_string())?;
    let model_rate = run.figures[Metric::Sent].n as f64 / model_wall.as_secs_f64();
    // (b) runs two hosts more than (a) (controller and store): the floor
    // with two idle hosts added tells the host count's share of the ratio
    // from the models' own (next to none, now that idle hosts are skipped).
    let floor5_wall = best_of(tries, || floor(size.messages, size.rate, 2))?;
    let floor5_rate = size.messages as f64 / floor5_wall.as_secs_f64();
    figures.push(
        Figure::new("models_vs_floor", model_rate / floor_rate, "ratio", ">=", 0.5).how(format!(
            "(b) {} messages through the models (1 broker, acks=1, no replication; producer, controller, consumer, store hosts) recording the History (checking it is (d)): {:.0} msg/s, {:.3} s (best of {tries}); against (a) with two idle hosts added, as many hosts as (b): {:.2}",
            run.figures[Metric::Sent].n,
            model_rate,
            model_wall.as_secs_f64(),
            model_rate / floor5_rate
        )),
    );

    // (c) the flagship, under its own policy.
    let sc = scenario::load(flagship).map_err(|e| e.to_string())?;
    let flag = harness::run(&sc, 1, &models::Pipeline::new()).map_err(|e| e.to_string())?;
    let flag_wall = best_of(tries, || {
        harness::run(&sc, 1, &models::Pipeline::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let simulated = (sc.duration + sc.drain).as_secs_f64();
    figures.push(
        Figure::new(
            "flagship_sim_s_per_wall_s",
            simulated / flag_wall.as_secs_f64(),
            "x",
            ">=",
            100.0,
        )
        .how(format!(
            "(c) {} seed 1 ({}), run and checked: {simulated:.0} s simulated in {:.3} s (best of {tries}), {} hosts",
            flagship.display(),
            sc.policy.kind.name(),
            flag_wall.as_secs_f64(),
            sc.hosts().len()
        )),
    );
    figures.push(
        Figure::new(
            "flagship_messages_per_wall_s",
            flag.figures[Metric::Sent].n as f64 / flag_wall.as_secs_f64(),
            "msg/s",
            ">=",
            0.0,
        )
        .how(format!(
            "(c) {} messages sent",
            flag.figures[Metric::Sent].n
        )),
    );

    // What (c) costs before a message moves: the same hosts, faults and
    // duration with almost no messages (hosts run only in steps where they
    // have work, so this is small; it was over half of (c) when every host
    // ran at every tick).
    let mut idle_sc = sc.clone();
    idle_sc.workload.rate_per_s = 10;
    idle_sc.workload.bursts.clear();
    let idle_wall = best_of(tries, || {
        harness::run(&idle_sc, 1, &models::Pipeline::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let ticks = (sc.duration + sc.drain).as_secs_f64() / sc.tick.as_secs_f64();
    figures.push(
        Figure::new(
            "flagship_idle_share",
            idle_wall.as_secs_f64() / flag_wall.as_secs_f64(),
            "ratio",
            ">=",
            0.0,
        )
        .how(format!(
            "(c) the flagship's hosts and faults at 10 msg/s: {:.3} s (best of {tries}), {:.1} µs per tick of {} hosts; at most {:.0} x at this tick however cheap messages get",
            idle_wall.as_secs_f64(),
            idle_wall.as_secs_f64() * 1e6 / ticks,
            sc.hosts().len(),
            simulated / idle_wall.as_secs_f64()
        )),
    );

    // Which host the idle flagship pays for most. A host stepped at most
    // ticks of a nearly idle run is woken for nothing: a poll loop, or a
    // deadline nobody waits on (one such kept every broker at every tick).
    let (_, idle_steps) = harness::driver::run_with_steps(&idle_sc, 1, &models::Pipeline::new())
        .map_err(|e| e.to_string())?;
    let (_, flag_steps) = harness::driver::run_with_steps(&sc, 1, &models::Pipeline::new())
        .map_err(|e| e.to_string())?;
    let (busiest, busiest_steps) = idle_steps.busiest().unwrap_or(("none", 0));
    figures.push(
        Figure::new(
            "idle_busiest_host_tick_share",
            busiest_steps as f64 / idle_steps.ticks.max(1) as f64,
            "ratio",
            "<=",
            0.5,
        )
        .how(format!(
            "(c) the flagship at 10 msg/s: its busiest host ({busiest}) ran in {busiest_steps} of {} ticks; all hosts {} steps. The flagship itself: {} host steps, {:.2} per message sent",
            idle_steps.ticks,
            idle_steps.total(),
            flag_steps.total(),
            flag_steps.total() as f64 / flag.figures[Metric::Sent].n.max(1) as f64
        )),
    );

    // (h) What (c)'s traffic costs turmoil alone. Bare sockets carry as
    // many network messages as the flagship put on the wire, over as many
    // simulated seconds and the flagship's link latency, as request and
    // answer pairs between client and server hosts (the store calls that
    // are two thirds of the flagship's traffic). No model, no History: the
    // most (c) could reach on this engine if mqsim's models cost nothing,
    // so whether (c)'s target is in reach of work on the models alone.
    let mut floor = None;
    let floor_wall = best_of(tries, || {
        let latency = (sc.network.latency.min, sc.network.latency.max);
        floor = Some(traffic_floor(
            flag_steps.network_messages,
            simulated,
            latency,
        )?);
        Ok(())
    })?;
    let floor = floor.ok_or("the traffic floor did not run")?;
    figures.push(
        Figure::new(
            "flagship_traffic_floor_sim_s_per_wall_s",
            simulated / floor_wall.as_secs_f64(),
            "x",
            ">=",
            100.0,
        )
        .how(format!(
            "(h) bare turmoil sockets carrying the flagship's {} network messages in {:.0} simulated s over its links (request/answer pairs: 4 client hosts x 8 paced connection loops to 3 servers that wait 2 ms): {:.3} s (best of {tries}), {:.2} µs per message, {} host steps against the flagship's {}; the flagship itself {:.2} µs per message, {:.2}x the floor's wall",
            flag_steps.network_messages,
            floor.simulated.as_secs_f64(),
            floor_wall.as_secs_f64(),
            floor_wall.as_secs_f64() * 1e6 / floor.messages.max(1) as f64,
            floor.host_steps,
            flag_steps.total(),
            flag_wall.as_secs_f64() * 1e6 / flag_steps.network_messages.max(1) as f64,
            flag_wall.as_secs_f64() / floor_wall.as_secs_f64()
        )),
    );

    // (f) What a run's cost grows with: hosts that have nothing to do
    // should cost next to nothing (a host runs only in steps where it has
    // work), messages about linearly. A pipeline of (b)'s hosts at 10
    // messages/s, then with idle hosts added; then (b) at a rate and at 10×.
    let idle_secs = if quick { 2 } else { 30 };
    let idle_text = |rate: u64| {
        format!(
            "name = \"bench-scaling\"\nsummary = \"what a run's cost grows with\"\nduration = \"{idle_secs}s\"\ndrain = \"1s\"\n[workload]\nrate = \"{rate}/s\"\n[broker]\nacks = 1\n"
        )
    };
    let idle_sc = scenario::parse(Path::new("bench-scaling.toml"), &idle_text(10))
        .map_err(|e| e.to_string())?;
    let simulated = (idle_sc.duration + idle_sc.drain).as_secs_f64();
    let base_hosts = idle_sc.hosts().len();
    let per_sim_s = |hosts: usize| -> Result<f64, String> {
        let model = WithIdleHosts {
            pipeline: models::Pipeline::new(),
            idle: hosts.saturating_sub(base_hosts),
        };
        let wall = best_of(tries, || {
            harness::driver::run(&idle_sc, 1, &model)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        Ok(wall.as_secs_f64() / simulated)
    };
    let idle5 = per_sim_s(5)?;
    figures.push(
        Figure::new("idle_wall_s_per_sim_s_5_hosts", idle5, "s", ">=", 0.0).how(format!(
            "(f) (b)'s pipeline ({base_hosts} hosts) at 10 msg/s for {simulated:.0} simulated s: wall seconds per simulated second (best of {tries})"
        )),
    );
    for (name, hosts) in [("idle_50_vs_5_hosts", 50), ("idle_200_vs_5_hosts", 200)] {
        let cost = per_sim_s(hosts)?;
        figures.push(Figure::new(name, cost / idle5, "ratio", "<=", 3.0).how(format!(
            "(f) the same with {} idle hosts added ({hosts} hosts): {cost:.5} wall s per simulated s, ÷ 5 hosts'",
            hosts - base_hosts
        )));
    }
    let rate = size.rate / 10;
    let rate_cost = |rate: u64| -> Result<f64, String> {
        let sc = scenario::parse(Path::new("bench-scaling.toml"), &idle_text(rate))
            .map_err(|e| e.to_string())?;
        let wall = best_of(tries, || {
            harness::driver::run(&sc, 1, &models::Pipeline::new())
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        Ok(wall.as_secs_f64())
    };
    let (slow, fast) = (rate_cost(rate)?, rate_cost(rate * 10)?);
    figures.push(
        Figure::new("rate_10x_cost_ratio", fast / slow, "ratio", "<=", 10.0).how(format!(
            "(f) (b)'s pipeline for {simulated:.0} simulated s at {} msg/s: {fast:.3} s, ÷ at {rate} msg/s: {slow:.3} s (linear or better: <= 10)",
            rate * 10
        )),
    );

    // (d) History size and checker throughput, on the flagship's History.
    let h = &flag.history;
    figures.push(
        Figure::new(
            "history_bytes_per_event",
            std::mem::size_of::<Event>() as f64,
            "B",
            "<=",
            64.0,
        )
        .how(format!(
            "(d) in memory, size_of::<Event>(); {} events",
            h.events.len()
        )),
    );
    let rounds = if quick { 1 } else { 5 };
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(check(std::hint::black_box(h)));
    }
    let check_wall = started.elapsed() / rounds;
    figures.push(
        Figure::new(
            "checker_events_per_s",
            h.events.len() as f64 / check_wall.as_secs_f64(),
            "events/s",
            ">=",
            10_000_000.0,
        )
        .how(format!(
            "(d) check() over the flagship History, best of the mean of {rounds}: {:.3} s",
            check_wall.as_secs_f64()
        )),
    );

    // (g) Memory: what a message costs at the peak, all of it (History,
    // broker logs and files, checker tables): the peak's rise over one run
    // in a fresh process, per message (what any run costs is in it, so
    // this errs high).
    let messages = if quick { 50_000 } else { 2_000_000 };
    let rise = peak_growth_of_run(messages)?;
    let per_message = rise as f64 / messages as f64;
    figures.push(
        Figure::new("peak_bytes_per_message", per_message, "B", "<=", 400.0).how(format!(
            "(g) a run of {messages} messages, every one consumed (16 partitions, 4 workers), run and checked in a process of its own (bench-memory), raised its peak RSS by {:.0} MB over its size before the run (8 GB / 20M messages = 400 B)",
            rise as f64 / 1e6
        )),
    );
    figures.push(
        Figure::new(
            "projected_peak_gb_20m_messages",
            per_message * 20e6 / 1e9,
            "GB",
            "<=",
            8.0,
        )
        .how("(g) 20M times the above (BENCHMARKS.md has a measured 20M-message run)".to_string()),
    );

    // (e) explore throughput with 1 and 2 jobs.
    let text = r#"name = "bench-explore"
summary = "a short run per seed"
duration = "5s"
drain = "2s"
[workload]
rate = "500/s"
[[fault]]
at = "2s"
kind = "pause"
target = "consumer-0"
for = "1s"
"#;
    let sc = scenario::parse(Path::new("bench-explore.toml"), text).map_err(|e| e.to_string())?;
    let seeds: Vec<u64> = (1..=size.seeds).collect();
    let per_minute = |jobs: usize| {
        let started = Instant::now();
        let model = || -> Box<dyn harness::model::Model> { Box::new(models::Pipeline::new()) };
        let (results, _) = sweep(&sc, &seeds, jobs, &model, &AtomicBool::new(false), |_| {});
        let wall = started.elapsed();
        (results.len() as f64 / wall.as_secs_f64() * 60.0, wall)
    };
    let (one, one_wall) = per_minute(1);
    let (two, two_wall) = per_minute(2);
    figures.push(
        Figure::new("explore_seeds_per_min_1_job", one, "seeds/min", ">=", 0.0).how(format!(
            "(e) {} seeds of a 7 s scenario, 1 job: {:.3} s",
            size.seeds,
            one_wall.as_secs_f64()
        )),
    );
    figures.push(
        Figure::new("explore_2_jobs_vs_1", two / one, "ratio", ">=", 1.8).how(format!(
            "(e) the same with 2 jobs: {:.3} s ({two:.0} seeds/min); {} cores available",
            two_wall.as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )),
    );
    Ok(Bench { quick, figures })
}

/// What a run of `messages` messages at 25,000/s, all consumed (six
/// History events each, the most a message records without retries),
/// adds to the peak resident memory of a process that does nothing else:
/// this program run again (`bench-memory`, hidden), so that what this
/// process allocated and freed before (the other figures' runs) neither
/// hides nor inflates the figure. (The child reads its own peak: it starts
/// afresh at `exec`, unlike the children's peak `getrusage` reports, which
/// starts at the parent's.)
fn peak_growth_of_run(messages: u64) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("(g) this program's path: {e}"))?;
    let out = std::process::Command::new(&exe)
        .args(["bench-memory", "--messages", &messages.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("(g) running {} bench-memory: {e}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let figures: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match (out.status.success(), figures.as_slice()) {
        (true, &[before, peak]) => Ok(peak.saturating_sub(before)),
        _ => Err(format!(
            "(g) {} bench-memory --messages {messages} ({}) printed {:?}: {}",
            exe.display(),
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// The resident size of this process before, and its peak after, a run of
/// `messages` messages (see [`peak_growth_of_run`]), in bytes.
pub fn memory_of_run(messages: u64) -> Result<(u64, u64), String> {
    let rate = 25_000;
    let secs = messages.div_ceil(rate);
    let text = format!(
        "name = \"bench-memory\"\nsummary = \"what a message costs at the peak\"\nduration = \"{secs}s\"\ndrain = \"10s\"\n[topology]\npartitions = 16\n[workload]\nrate = \"{rate}/s\"\n[broker]\nacks = 1\n[consumer]\nworkers = 4\nconcurrency = 32\n[store]\nlatency = \"1ms\"\n"
    );
    let sc = scenario::parse(Path::new("bench-memory.toml"), &text).map_err(|e| e.to_string())?;
    let before = proc_status_bytes("VmRSS")?;
    let run = harness::run(&sc, 1, &models::Pipeline::new()).map_err(|e| e.to_string())?;
    let peak = proc_status_bytes("VmHWM")?;
    drop(run);
    Ok((before, peak))
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn proc_status_bytes(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("(g) /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("(g) /proc/self/status has no {field} line in kB"))
}

/// The shortest wall time of `tries` runs of `f`.
fn best_of(tries: u32, mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..tries {
        let started = Instant::now();
        f()?;
        best = best.min(started.elapsed());
    }
    Ok(best)
}

const FLOOR_PORT: u16 = 7000;

/// What one run of [`traffic_floor`] did.
struct TrafficFloor {
    /// Network messages it put on the wire (at least the target).
    messages: u64,
    host_steps: u64,
    simulated: Duration,
}

/// Bare turmoil sockets putting at least `target` messages on the network
/// as request/answer pairs, paced to take about `seconds` of simulated
/// time: 4 client hosts of 8 connection loops each (each loop starts a
/// call every period, round-robin over its own connections to 3 servers),
/// servers that take 2 ms per request, links of `latency` (min, max), a
/// 1 ms tick, idle hosts skipped — the shape of the flagship's store calls.
fn traffic_floor(
    target: u64,
    seconds: f64,
    latency: (Duration, Duration),
) -> Result<TrafficFloor, String> {
    const SERVERS: usize = 3;
    const CLIENTS: usize = 4;
    const LOOPS: usize = 8;
    // Two messages a call: each loop calls once a period.
    let calls_per_s = target as f64 / 2.0 / seconds.max(1.0);
    let period_ms = ((CLIENTS * LOOPS) as f64 * 1000.0 / calls_per_s.max(1.0))
        .round()
        .max(1.0);
    let period = Duration::from_millis(period_ms as u64);
    let mut sim = turmoil::Builder::new()
        .tick_duration(Duration::from_millis(1))
        .simulation_duration(Duration::from_secs(36_000))
        .min_message_latency(latency.0)
        .max_message_latency(latency.1)
        .rng_seed(1)
        .skip_idle_hosts(true)
        .build();
    for s in 0..SERVERS {
        sim.host(format!("server-{s}"), || async {
            let listener = TcpListener::bind(("0.0.0.0", FLOOR_PORT)).await?;
            loop {
                let (mut conn, _) = listener.accept().await?;
                tokio::task::spawn_local(async move {
                    let mut request = [0u8; 16];
                    while conn.read_exact(&mut request).await.is_ok() {
                        turmoil::time::sleep(Duration::from_millis(2)).await;
                        if conn.write_all(&request[..8]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    }
    for c in 0..CLIENTS {
        sim.client(format!("client-{c}"), async move {
            for l in 0..LOOPS {
                tokio::task::spawn_local(async move {
                    let mut conns = Vec::new();
                    for s in 0..SERVERS {
                        let name = format!("server-{s}");
                        conns.push(TcpStream::connect((name.as_str(), FLOOR_PORT)).await?);
                    }
                    let mut answer = [0u8; 8];
                    let mut next = tokio::time::Instant::now();
                    for i in (c + l).. {
                        let conn = &mut conns[i % SERVERS];
                        conn.write_all(&[0u8; 16]).await?;
                        conn.read_exact(&mut answer).await?;
                        next += period;
                        turmoil::time::sleep_until(next).await;
                    }
                    Ok::<(), std::io::Error>(())
                });
            }
            std::future::pending::<()>().await;
            Ok(())
        });
    }
    while sim.network_messages() < target {
        sim.step().map_err(|e| e.to_string())?;
    }
    Ok(TrafficFloor {
        messages: sim.network_messages(),
        host_steps: sim.host_steps(),
        simulated: sim.elapsed(),
    })
}

/// (a): a producer sends `n` 16-byte frames at `rate` per simulated second
/// (the frames due at each 1 ms tick in one write, as a producer batching
/// with a 1 ms linger would) to a broker, which forwards whatever it reads
/// to a consumer; the run ends when the consumer has every byte.
fn floor(n: u64, rate: u64, idle_hosts: usize) -> Result<(), String> {
    let mut sim = turmoil::Builder::new()
        .tick_duration(Duration::from_millis(1))
        .simulation_duration(Duration::from_secs(3600))
        .rng_seed(1)
        // The engine mqsim runs on: a host runs only when it has work.
        .skip_idle_hosts(true)
        .build();
    for i in 0..idle_hosts {
        sim.host(format!("idle-{i}"), || async {
            std::future::pending::<()>().await;
            Ok(())
        });
    }
    sim.host("broker", || async {
        let listener = TcpListener::bind(("0.0.0.0", FLOOR_PORT)).await?;
        let (mut from, _) = listener.accept().await?;
        let mut to = TcpStream::connect(("consumer", FLOOR_PORT)).await?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return Ok(()),
                Ok(k) => to.write_all(&buf[..k]).await?,
            }
        }
    });
    let done = Rc::new(Cell::new(false));
    let done2 = done.clone();
    sim.client("consumer", async move {
        let listener = TcpListener::bind(("0.0.0.0", FLOOR_PORT)).await?;
        let (mut from, _) = listener.accept().await?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        while got < n * 16 {
            match from.read(&mut buf).await? {
                0 => break,
                k => got += k as u64,
            }
        }
        done2.set(true);
        Ok(())
    });
    sim.client("producer", async move {
        let mut to = TcpStream::connect(("broker", FLOOR_PORT)).await?;
        let per_tick = (rate / 1000).max(1);
        let mut sent = 0u64;
        while sent < n {
            let mut batch = Vec::with_capacity(per_tick as usize * 16);
            for _ in 0..per_tick.min(n - sent) {
                let mut frame = [0u8; 16];
                frame[..8].copy_from_slice(&sent.to_le_bytes());
                batch.extend_from_slice(&frame);
                sent += 1;
            }
            to.write_all(&batch).await?;
            turmoil::time::sleep(Duration::from_millis(1)).await;
        }
        // Keep the connection until the consumer has everything.
        turmoil::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    // The producer never returns by itself: step until the consumer is done.
    while !done.get() {
        sim.step().map_err(|e| e.to_string())?;
        if sim.elapsed() > Duration::from_secs(3000) {
            return Err("the floor run did not finish".to_string());
        }
    }
    Ok(())
}

impl Bench {
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = self.figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for f in &self.figures {
            let target = if f.target == 0.0 && f.cmp == ">=" {
                "(baseline)".to_string()
            } else {
                format!("target {} {}", f.cmp, f.target)
            };
            let met = if f.target == 0.0 {
                ""
            } else if f.met {
                "  met"
            } else {
                "  NOT MET"
            };
            // Small figures (wall seconds per simulated second) keep their
            // digits.
            let digits = if f.value != 0.0 && f.value.abs() < 0.1 {
                5
            } else {
                2
            };
            o += &format!(
                "{:<w$}  {:>14.digits$} {:<9} {target}{met}\n",
                f.name, f.value, f.unit
            );
            o += &format!("{:<w$}    {}\n", "", f.how);
        }
        if self.quick {
            o += "(--quick: small sizes, for a smoke test; figures are not meaningful)\n";
        }
        o
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("bench figures serialise");
        s.push('\n');
        s
    }
}
