//! Charts as inline SVG, written by hand: a few hundred lines buy output that
//! is small, byte-for-byte deterministic (fixed decimals, no float printing
//! surprises, no fonts or scripts) and styled by the page's CSS, so one chart
//! reads in a light or a dark browser. Colours are classes (`s0`…`s7`,
//! `fault`, `open`, `half_open`), never literals.

use std::fmt::Write as _;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// A shaded stretch of the time axis (a fault window), labelled.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Where the window starts, ms of simulated time.
    pub start_ms: u64,
    /// Where it ends, ms.
    pub end_ms: u64,
    /// The fault's label (`slow_storage store-1 x60`).
    pub label: String,
}

/// One line: `(at_ms, value)`, `None` where there is no figure (a gap).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its name in the legend and the tooltip; seeds of one series share it.
    pub name: String,
    /// Colour slot 0..8 (`s0`…`s7` in the page's CSS).
    pub colour: usize,
    /// Its points in time order.
    pub points: Vec<(u64, Option<f64>)>,
    /// Thin and translucent: one of several seeds of the same series.
    pub faint: bool,
}

/// A line chart over simulated time.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// The `<svg>` element's id.
    pub id: &'a str,
    /// Shown above the chart and read by screen readers.
    pub title: &'a str,
    /// The y axis' unit, e.g. `messages`, `ms`, `msg/s`.
    pub unit: &'a str,
    /// Where the time axis ends, ms.
    pub end_ms: u64,
    /// The lines drawn.
    pub series: Vec<Series>,
    /// The fault windows, shaded and labelled.
    pub windows: &'a [Window],
    /// Vertical dashed lines, e.g. the drain's start.
    pub markers: &'a [(u64, &'a str)],
}

/// A row of coloured spans over time (the breaker-state band).
#[derive(Clone, Debug, PartialEq)]
pub struct BandRow {
    /// The row's name (`store-1`).
    pub label: String,
    /// `(start_ms, end_ms, class, tooltip)`.
    pub spans: Vec<(u64, u64, &'static str, String)>,
}

use super::escape as esc;

/// Ticks at 1, 2 or 5 × 10^k covering `0..=max`, about `target` of them.
fn ticks(max: f64, target: usize) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0, 1.0];
    }
    let raw = max / target as f64;
    let mag = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let n = (max / step).ceil() as usize;
    (0..=n.max(1)).map(|i| i as f64 * step).collect()
}

/// A tick label: `950`, `1.5k`, `12k`, `2M`; sub-unit values keep one decimal.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e3 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 1.0 || a == 0.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.2}"))
    }
}

/// A duration for tooltips, as everywhere else in mqsim (`1m30s`, `250ms`).
fn duration(ms: u64) -> String {
    crate::units::format_duration(std::time::Duration::from_millis(ms))
}

struct Frame {
    end_ms: f64,
    y_max: f64,
    plot_h: f64,
}

impl Frame {
    fn x(&self, ms: f64) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * (ms / self.end_ms).clamp(0.0, 1.0)
    }
    fn y(&self, v: f64) -> f64 {
        TOP + self.plot_h * (1.0 - (v / self.y_max).clamp(0.0, 1.0))
    }
}

fn open_svg(o: &mut String, id: &str, title: &str, height: f64) {
    let _ = write!(
        o,
        "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(id),
        esc(title)
    );
    let _ = write!(
        o,
        "<text class=\"title\" x=\"{LEFT}\" y=\"18\">{}</text>",
        esc(title)
    );
}

/// Time axis, fault windows and markers, shared by both chart kinds.
fn time_axis(o: &mut String, f: &Frame, windows: &[Window], markers: &[(u64, &str)], bottom: f64) {
    for (i, w) in windows.iter().enumerate() {
        let (x0, x1) = (f.x(w.start_ms as f64), f.x(w.end_ms as f64));
        let _ = write!(
            o,
            "<rect class=\"fault\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} ({}–{})</title></rect>",
            (x1 - x0).max(1.0),
            bottom - TOP,
            esc(&w.label),
            duration(w.start_ms),
            duration(w.end_ms)
        );
        let _ = write!(
            o,
            "<text class=\"fault-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x0 + 3.0,
            TOP + 12.0 + 12.0 * (i % 3) as f64,
            esc(&w.label)
        );
    }
    for (at, label) in markers {
        let x = f.x(*at as f64);
        let _ = write!(
            o,
            "<line class=\"marker\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/><text class=\"marker-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x - 3.0,
            bottom - 4.0,
            esc(label)
        );
    }
    let _ = write!(
        o,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\"/>",
        WIDTH - RIGHT
    );
    // One unit for the whole axis: minutes from ten minutes on.
    let (unit_ms, suffix) = if f.end_ms >= 600_000.0 {
        (60_000.0, "m")
    } else {
        (1_000.0, "s")
    };
    let step = ticks(f.end_ms / unit_ms, 10).get(1).copied().unwrap_or(1.0);
    let mut i = 0.0;
    while i * step * unit_ms <= f.end_ms + 1e-6 {
        let t = i * step;
        let x = f.x(t * unit_ms);
        let _ = write!(
            o,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"tick-label\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}{suffix}</text>",
            bottom + 4.0,
            bottom + 16.0,
            short_number(t)
        );
        i += 1.0;
    }
    let _ = write!(
        o,
        "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">simulated time</text>",
        WIDTH - RIGHT,
        bottom + 32.0
    );
}

/// At most about two points per horizontal pixel: the first, lowest, highest
/// and last value of each pixel column survive, so peaks stay visible.
fn decimate(points: &[(u64, Option<f64>)], end_ms: f64) -> Vec<(u64, Option<f64>)> {
    let columns = (WIDTH - LEFT - RIGHT) as usize;
    if points.len() <= 2 * columns {
        return points.to_vec();
    }
    let column = |ms: u64| ((ms as f64 / end_ms) * columns as f64) as usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let c = column(points[i].0);
        let mut j = i;
        while j < points.len()
            && column(points[j].0) == c
            && points[j].1.is_some() == points[i].1.is_some()
        {
            j += 1;
        }
        let run = &points[i..j];
        if run[0].1.is_none() {
            out.push(run[0]);
        } else {
            let lo = run
                .iter()
                .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
                .unwrap();
            let hi = run
                .iter()
                .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
                .unwrap();
            let mut keep = vec![run[0], *lo, *hi, run[run.len() - 1]];
            keep.sort_by_key(|p| p.0);
            keep.dedup();
            out.extend(keep);
        }
        i = j;
    }
    out
}

/// Draws `c` as one `<svg>`: the y axis from 0 to a round value at or
/// above the largest point, each series decimated per pixel column.
pub fn line_chart(c: &Chart) -> String {
    let end_ms = c.end_ms.max(1) as f64;
    let data_max = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_ticks = ticks(data_max, 5);
    let f = Frame {
        end_ms,
        y_max: *y_ticks.last().unwrap_or(&1.0),
        plot_h: HEIGHT - TOP - BOTTOM,
    };
    let bottom = HEIGHT - BOTTOM;
    let mut o = String::new();
    open_svg(&mut o, c.id, c.title, HEIGHT);
    for v in &y_ticks {
        let y = f.y(*v);
        let _ = write!(
            o,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"tick-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short_number(*v)
        );
    }
    let _ = write!(
        o,
        "<text class=\"axis-label\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + f.plot_h / 2.0,
        esc(c.unit)
    );
    time_axis(&mut o, &f, c.windows, c.markers, bottom);
    for s in &c.series {
        let class = format!(
            "line s{}{}",
            s.colour % 8,
            if s.faint { " faint" } else { "" }
        );
        let mut run: Vec<(f64, f64)> = Vec::new();
        let flush = |o: &mut String, run: &mut Vec<(f64, f64)>| {
            // A lone value between gaps is a short dash, or it would not show.
            if let [(x, y)] = run[..] {
                *run = vec![(x - 2.0, y), (x + 2.0, y)];
            }
            if !run.is_empty() {
                let points: Vec<String> =
                    run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    o,
                    "<polyline class=\"{class}\" points=\"{}\"><title>{}</title></polyline>",
                    points.join(" "),
                    esc(&s.name)
                );
                run.clear();
            }
        };
        for (at, v) in decimate(&s.points, end_ms) {
            match v {
                Some(v) => run.push((f.x(at as f64), f.y(v))),
                None => flush(&mut o, &mut run),
            }
        }
        flush(&mut o, &mut run);
    }
    legend(&mut o, &c.series);
    o.push_str("</svg>");
    o
}

/// One entry per distinct series name (several seeds share one).
fn legend(o: &mut String, series: &[Series]) {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for s in series {
        if !seen.iter().any(|(n, _)| *n == s.name) {
            seen.push((&s.name, s.colour));
        }
    }
    let mut x = WIDTH - RIGHT;
    for (name, colour) in seen.iter().rev() {
        let w = 24.0 + 7.0 * name.chars().count() as f64;
        x -= w;
        let _ = write!(
            o,
            "<line class=\"line s{}\" x1=\"{x:.1}\" y1=\"14\" x2=\"{:.1}\" y2=\"14\"/><text class=\"legend\" x=\"{:.1}\" y=\"18\">{}</text>",
            colour % 8,
            x + 14.0,
            x + 18.0,
            esc(name)
        );
        x -= 8.0;
    }
}

/// Rows of coloured spans over time, e.g. each store node's breaker state.
pub fn band_chart(
    id: &str,
    title: &str,
    end_ms: u64,
    rows: &[BandRow],
    windows: &[Window],
    markers: &[(u64, &str)],
    legend: &[(&str, &str)],
) -> String {
    const ROW: f64 = 22.0;
    let height = TOP + ROW * rows.len().max(1) as f64 + BOTTOM;
    let bottom = height - BOTTOM;
    let f = Frame {
        end_ms: end_ms.max(1) as f64,
        y_max: 1.0,
        plot_h: bottom - TOP,
    };
    let mut o = String::new();
    open_svg(&mut o, id, title, height);
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = write!(
            o,
            "<rect class=\"band-bg\" x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/><text class=\"tick-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            y + 3.0,
            WIDTH - LEFT - RIGHT,
            ROW - 6.0,
            LEFT - 6.0,
            y + ROW / 2.0 + 4.0,
            esc(&row.label)
        );
        for (start, end, class, tip) in &row.spans {
            let (x0, x1) = (f.x(*start as f64), f.x(*end as f64));
            let _ = write!(
                o,
                "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                y + 3.0,
                (x1 - x0).max(1.0),
                ROW - 6.0,
                esc(tip)
            );
        }
    }
    time_axis(&mut o, &f, windows, markers, bottom);
    let mut x = WIDTH - RIGHT;
    for (class, name) in legend.iter().rev() {
        x -= 24.0 + 7.0 * name.chars().count() as f64;
        let _ = write!(
            o,
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"8\" width=\"14\" height=\"10\"/><text class=\"legend\" x=\"{:.1}\" y=\"18\">{}</text>",
            x + 18.0,
            esc(name)
        );
        x -= 8.0;
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(
            ticks(45_274.0, 5),
            vec![0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0]
        );
        assert_eq!(ticks(0.0, 5), vec![0.0, 1.0]);
        assert_eq!(ticks(3.0, 5), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(short_number(1_500.0), "1.5k");
        assert_eq!(short_number(2_000_000.0), "2M");
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(40.0), "40");
    }

    #[test]
    fn gaps_split_lines_and_labels_are_escaped() {
        let windows = [Window {
            start_ms: 1_000,
            end_ms: 2_000,
            label: "partition a | b <x>".into(),
        }];
        let svg = line_chart(&Chart {
            id: "lag",
            title: "Lag",
            unit: "messages",
            end_ms: 4_000,
            series: vec![Series {
                name: "lag".into(),
                colour: 0,
                points: vec![
                    (0, Some(1.0)),
                    (1_000, Some(2.0)),
                    (2_000, None),
                    (3_000, Some(1.0)),
                    (3_500, None),
                    (4_000, Some(0.0)),
                ],
                faint: false,
            }],
            windows: &windows,
            markers: &[(3_000, "drain")],
        });
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        // A lone value is a short dash, not an invisible one-point line.
        let lone = svg.split("<polyline").nth(3).unwrap();
        assert!(
            lone.contains("points=\"") && lone.split(' ').filter(|p| p.contains(',')).count() >= 2,
            "{lone}"
        );
        assert!(svg.contains("&lt;x&gt;"));
        assert!(!svg.contains("<x>"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn decimation_keeps_peaks() {
        let points: Vec<(u64, Option<f64>)> = (0..100_000u64)
            .map(|i| (i, Some(if i == 54_321 { 1e6 } else { 1.0 })))
            .collect();
        let kept = decimate(&points, 100_000.0);
        assert!(kept.len() < 4 * 900, "{}", kept.len());
        assert!(kept.contains(&(54_321, Some(1e6))));
    }
}
