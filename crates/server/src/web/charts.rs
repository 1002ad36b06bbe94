//! Charts as inline SVG, drawn on the server: a chart is a list of plain shapes laid out here
//! and written by one template (`report_chart.html`), so every label is escaped like any other
//! text and pages carry no chart library.
//!
//! Coordinates are in SVG user units; each chart's view box is about as wide as it is shown,
//! so 12-unit text reads as 12-pixel text. Colours come from the stylesheet through classes,
//! which is what gives the charts their dark theme.

use askama::Template;

/// Round to one decimal: coordinates need no more, and the markup stays short.
fn r1(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10.0).round() / 10.0
    } else {
        0.0
    }
}

pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub rx: f64,
    pub class: &'static str,
    /// Tooltip for pointer users; screen readers get the chart's description and the table.
    pub title: String,
}

pub struct Line {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub class: &'static str,
}

pub struct Label {
    pub x: f64,
    pub y: f64,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    pub class: &'static str,
    pub text: String,
}

pub struct PathShape {
    pub d: String,
    pub class: &'static str,
    pub title: String,
}

pub enum Shape {
    Rect(Rect),
    Line(Line),
    Label(Label),
    Path(PathShape),
}

#[derive(Template)]
#[template(path = "report_chart.html")]
pub struct Chart {
    pub id: String,
    pub class: &'static str,
    pub width: f64,
    pub height: f64,
    /// The accessible name: what the chart shows, its period and filter.
    pub title: String,
    /// What a sighted reader takes from it, in words (peaks, valleys, the largest stage…).
    pub desc: String,
    pub shapes: Vec<Shape>,
}

impl Chart {
    fn new(id: &str, class: &'static str, width: f64, height: f64) -> Chart {
        Chart {
            id: id.into(),
            class,
            width,
            height,
            title: String::new(),
            desc: String::new(),
            shapes: vec![],
        }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &'static str, title: String) {
        self.shapes.push(Shape::Rect(Rect {
            x: r1(x),
            y: r1(y),
            w: r1(w.max(0.0)),
            h: r1(h.max(0.0)),
            rx: 0.0,
            class,
            title,
        }));
    }

    /// A rectangle with rounded corners; the box is (x, y, width, height).
    fn rounded(
        &mut self,
        (x, y, w, h): (f64, f64, f64, f64),
        rx: f64,
        class: &'static str,
        title: String,
    ) {
        self.shapes.push(Shape::Rect(Rect {
            x: r1(x),
            y: r1(y),
            w: r1(w.max(0.0)),
            h: r1(h.max(0.0)),
            rx,
            class,
            title,
        }));
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &'static str) {
        self.shapes.push(Shape::Line(Line {
            x1: r1(x1),
            y1: r1(y1),
            x2: r1(x2),
            y2: r1(y2),
            class,
        }));
    }

    fn text(
        &mut self,
        x: f64,
        y: f64,
        anchor: &'static str,
        class: &'static str,
        text: impl Into<String>,
    ) {
        self.shapes.push(Shape::Label(Label {
            x: r1(x),
            y: r1(y),
            anchor,
            class,
            text: text.into(),
        }));
    }

    fn path(&mut self, d: String, class: &'static str, title: String) {
        self.shapes.push(Shape::Path(PathShape { d, class, title }));
    }
}

/// Tick step and top of an axis from 0 to at least `max`, with about `ticks` steps of 1, 2,
/// 2.5 or 5 times a power of ten: the numbers people read at a glance. Steps are at least
/// `min_step` (a whole day, a whole unit of money), so an empty chart does not count in
/// fractions nobody can read.
pub fn nice_axis(max: f64, ticks: usize, min_step: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / ticks.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(min_step);
    let top = ((max / step).ceil() * step).max(step);
    (step, top)
}

/// How a column stands against its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnMark {
    Normal,
    Peak,
    Valley,
    /// Cut by the period's edge: drawn paler, not compared.
    Partial,
}

/// One bucket of a column chart: an actual figure, a projected one stacked above it, and the
/// projection's P10–P90 interval.
pub struct Column {
    /// The axis label (`Jun 1`, `Jul`).
    pub label: String,
    pub actual: Option<f64>,
    pub projected: Option<f64>,
    pub interval: Option<(f64, f64)>,
    pub mark: ColumnMark,
    /// A projected week below the pace line.
    pub short: bool,
    pub title: String,
}

/// A column chart over time: history with its ±1 sd band and marks, then a lighter projection.
pub struct ColumnChart<'a> {
    pub id: &'a str,
    pub title: String,
    pub desc: String,
    pub columns: Vec<Column>,
    /// Mean and standard deviation of the history columns.
    pub band: Option<(f64, Option<f64>)>,
    /// The pace line over the projected columns.
    pub pace: Option<f64>,
    pub tick: &'a dyn Fn(f64) -> String,
    /// The smallest step between ticks: 1 for counts, 100 minor units for money.
    pub min_step: f64,
    pub width: f64,
    pub height: f64,
}

const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 28.0;

pub fn columns(spec: ColumnChart<'_>) -> Chart {
    let mut c = Chart::new(spec.id, "chart columns", spec.width, spec.height);
    c.title = spec.title;
    c.desc = spec.desc;
    let n = spec.columns.len().max(1) as f64;
    let plot_w = spec.width - LEFT - RIGHT;
    let plot_h = spec.height - TOP - BOTTOM;
    let mut max: f64 = 0.0;
    for col in &spec.columns {
        let base = col.actual.unwrap_or(0.0);
        max = max.max(base + col.projected.unwrap_or(0.0));
        if let Some((_, hi)) = col.interval {
            max = max.max(hi);
        }
    }
    if let Some((mean, sd)) = spec.band {
        max = max.max(mean + sd.unwrap_or(0.0));
    }
    if let Some(p) = spec.pace {
        max = max.max(p);
    }
    let (step, top) = nice_axis(max, 4, spec.min_step);
    let y = |v: f64| TOP + plot_h - (v / top * plot_h).clamp(0.0, plot_h);
    let slot = plot_w / n;
    let bar_w = (slot * 0.68).max(2.0);
    let x_of = |i: usize| LEFT + slot * i as f64 + (slot - bar_w) / 2.0;

    // Grid and y labels first: everything else draws over them.
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        c.line(
            LEFT,
            y(v),
            spec.width - RIGHT,
            y(v),
            if v == 0.0 { "axis" } else { "grid" },
        );
        c.text(LEFT - 8.0, y(v) + 4.0, "end", "tick", (spec.tick)(v));
        v += step;
    }
    let history = spec
        .columns
        .iter()
        .take_while(|col| col.actual.is_some())
        .count();
    if let Some((mean, sd)) = spec.band.filter(|_| history > 0) {
        let x0 = LEFT;
        let x1 = LEFT + slot * history as f64;
        if let Some(sd) = sd.filter(|s| *s > 0.0) {
            let hi = y(mean + sd);
            let lo = y((mean - sd).max(0.0));
            c.rect(
                x0,
                hi,
                x1 - x0,
                lo - hi,
                "band",
                format!(
                    "±1 standard deviation around the mean: {} to {}",
                    (spec.tick)((mean - sd).max(0.0)),
                    (spec.tick)(mean + sd)
                ),
            );
        }
        c.line(x0, y(mean), x1, y(mean), "mean");
    }
    if history > 0 && history < spec.columns.len() {
        let x = LEFT + slot * history as f64;
        c.line(x, TOP - 14.0, x, TOP + plot_h, "divider");
        c.text(x + 4.0, TOP - 6.0, "start", "note", "projected →");
    }
    if let Some(p) = spec.pace.filter(|_| history < spec.columns.len()) {
        let x0 = LEFT + slot * history as f64;
        c.line(x0, y(p), spec.width - RIGHT, y(p), "pace");
    }
    for (i, col) in spec.columns.iter().enumerate() {
        let x = x_of(i);
        let mut top_of_bar = y(0.0);
        if let Some(a) = col.actual {
            let class = match col.mark {
                ColumnMark::Peak => "bar peak",
                ColumnMark::Valley => "bar valley",
                ColumnMark::Partial => "bar partial",
                ColumnMark::Normal => "bar",
            };
            c.rect(x, y(a), bar_w, y(0.0) - y(a), class, col.title.clone());
            top_of_bar = y(a);
        }
        if let Some(p) = col.projected {
            let base = col.actual.unwrap_or(0.0);
            let class = if col.short {
                "bar projected short"
            } else {
                "bar projected"
            };
            c.rect(
                x,
                y(base + p),
                bar_w,
                y(base) - y(base + p),
                class,
                col.title.clone(),
            );
            top_of_bar = y(base + p);
        }
        if let Some((lo, hi)) = col.interval {
            let cx = x + bar_w / 2.0;
            c.line(cx, y(lo), cx, y(hi), "whisker");
            c.line(cx - bar_w * 0.3, y(hi), cx + bar_w * 0.3, y(hi), "whisker");
            c.line(cx - bar_w * 0.3, y(lo), cx + bar_w * 0.3, y(lo), "whisker");
            top_of_bar = top_of_bar.min(y(hi));
        }
        // Peaks and valleys carry a shape as well as a colour, so they read without colour.
        let cx = x + bar_w / 2.0;
        let ty = top_of_bar - 5.0;
        match col.mark {
            ColumnMark::Peak => c.path(
                format!("M{} {}l-5 0l5 -8l5 8z", r1(cx), r1(ty)),
                "mark peak",
                format!("Peak: {}", col.title),
            ),
            ColumnMark::Valley => c.path(
                format!("M{} {}l-5 -8l10 0z", r1(cx), r1(ty)),
                "mark valley",
                format!("Valley: {}", col.title),
            ),
            _ => {}
        }
    }
    // X labels: as many as fit without touching (about 52 units each).
    let every = ((52.0 / slot).ceil() as usize).max(1);
    for (i, col) in spec.columns.iter().enumerate() {
        if i % every == 0 {
            let cx = LEFT + slot * i as f64 + slot / 2.0;
            c.text(cx, spec.height - 8.0, "middle", "tick", col.label.clone());
        }
    }
    c
}

/// One horizontal bar of a funnel.
pub struct FunnelBar {
    pub name: String,
    pub count: i64,
    /// Share of these that moved on, shown below the bar.
    pub conversion: Option<String>,
}

pub fn funnel(id: &str, title: String, desc: String, bars: &[FunnelBar], width: f64) -> Chart {
    const NAME_W: f64 = 150.0;
    const COUNT_W: f64 = 110.0;
    const BAR_H: f64 = 30.0;
    const GAP: f64 = 24.0;
    let height = bars.len() as f64 * (BAR_H + GAP) + 4.0;
    let mut c = Chart::new(id, "chart funnel-chart", width, height);
    c.title = title;
    c.desc = desc;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let area = width - NAME_W - COUNT_W - 20.0;
    let centre = NAME_W + 10.0 + area / 2.0;
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * (BAR_H + GAP);
        // Width proportional to the count, centred: the funnel's shape. A thin sliver keeps
        // an empty stage visible.
        let w = (b.count as f64 / max * area).max(3.0);
        c.text(NAME_W, y + BAR_H / 2.0 + 4.5, "end", "name", b.name.clone());
        c.rounded(
            (centre - w / 2.0, y, w, BAR_H),
            4.0,
            "bar",
            format!("{}: {} entered", b.name, group(b.count)),
        );
        c.text(
            width - 4.0,
            y + BAR_H / 2.0 + 4.5,
            "end",
            "value",
            format!("{} entered", group(b.count)),
        );
        if let Some(conv) = &b.conversion {
            c.text(
                centre,
                y + BAR_H + GAP / 2.0 + 5.0,
                "middle",
                "conv",
                conv.clone(),
            );
        }
    }
    c
}

/// One row of a range chart: a P10–P90 interval with its median, and two reference marks.
pub struct RangeRow {
    pub label: String,
    pub low: f64,
    pub mid: f64,
    pub high: f64,
    /// Already achieved (drawn as a solid bar from zero).
    pub base: f64,
    /// A comparison figure (the weighted pipeline), drawn as a diamond.
    pub reference: Option<f64>,
    pub title: String,
}

pub fn ranges(
    id: &str,
    title: String,
    desc: String,
    rows: &[RangeRow],
    tick: &dyn Fn(f64) -> String,
    width: f64,
) -> Chart {
    const LABEL_W: f64 = 96.0;
    const ROW_H: f64 = 46.0;
    let height = rows.len() as f64 * ROW_H + 30.0;
    let mut c = Chart::new(id, "chart ranges", width, height);
    c.title = title;
    c.desc = desc;
    let max = rows
        .iter()
        .map(|r| r.high.max(r.base).max(r.reference.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let (step, top) = nice_axis(max, 5, 100.0);
    let plot_w = width - LABEL_W - 24.0;
    let x = |v: f64| LABEL_W + (v / top).clamp(0.0, 1.0) * plot_w;
    let bottom = rows.len() as f64 * ROW_H;
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        c.line(
            x(v),
            0.0,
            x(v),
            bottom,
            if v == 0.0 { "axis" } else { "grid" },
        );
        c.text(x(v), bottom + 18.0, "middle", "tick", tick(v));
        v += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * ROW_H + 10.0;
        c.text(LABEL_W - 10.0, y + 17.0, "end", "name", r.label.clone());
        if r.base > 0.0 {
            c.rect(
                x(0.0),
                y + 22.0,
                x(r.base) - x(0.0),
                6.0,
                "base",
                format!("Won so far: {}", tick(r.base)),
            );
        }
        c.rounded(
            (x(r.low), y + 4.0, (x(r.high) - x(r.low)).max(2.0), 14.0),
            7.0,
            "range",
            r.title.clone(),
        );
        c.line(x(r.mid), y, x(r.mid), y + 22.0, "median");
        if let Some(w) = r.reference {
            let (cx, cy) = (x(w), y + 11.0);
            c.path(
                format!("M{} {}l6 6l-6 6l-6 -6z", r1(cx), r1(cy - 6.0)),
                "reference",
                format!("Weighted pipeline: {}", tick(w)),
            );
        }
    }
    c
}

/// One horizontal bar with a lighter extension: a typical figure and a high one (median and
/// 90th percentile).
pub struct SpanBar {
    pub label: String,
    pub typical: Option<f64>,
    pub high: Option<f64>,
    pub highlight: bool,
    pub note: String,
}

pub fn spans(
    id: &str,
    title: String,
    desc: String,
    rows: &[SpanBar],
    unit: &str,
    width: f64,
) -> Chart {
    const LABEL_W: f64 = 130.0;
    const NOTE_W: f64 = 150.0;
    const ROW_H: f64 = 30.0;
    let height = rows.len() as f64 * ROW_H + 28.0;
    let mut c = Chart::new(id, "chart spans", width, height);
    c.title = title;
    c.desc = desc;
    let max = rows
        .iter()
        .map(|r| r.high.or(r.typical).unwrap_or(0.0))
        .fold(0.0, f64::max);
    let (step, top) = nice_axis(max, 5, 1.0);
    let plot_w = width - LABEL_W - NOTE_W - 16.0;
    let x = |v: f64| LABEL_W + (v / top).clamp(0.0, 1.0) * plot_w;
    let bottom = rows.len() as f64 * ROW_H;
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        c.line(
            x(v),
            0.0,
            x(v),
            bottom,
            if v == 0.0 { "axis" } else { "grid" },
        );
        c.text(
            x(v),
            bottom + 18.0,
            "middle",
            "tick",
            format!("{}{unit}", fmt_num(v)),
        );
        v += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * ROW_H + 6.0;
        c.text(
            LABEL_W - 10.0,
            y + 13.0,
            "end",
            if r.highlight { "name strong" } else { "name" },
            r.label.clone(),
        );
        if let Some(h) = r.high {
            c.rounded(
                (x(0.0), y + 3.0, x(h) - x(0.0), 12.0),
                3.0,
                if r.highlight { "high slow" } else { "high" },
                r.note.clone(),
            );
        }
        if let Some(t) = r.typical {
            c.rounded(
                (x(0.0), y, x(t) - x(0.0), 18.0),
                3.0,
                if r.highlight { "bar slow" } else { "bar" },
                r.note.clone(),
            );
        }
        c.text(width - 4.0, y + 13.0, "end", "value", r.note.clone());
    }
    c
}

/// A small line over a series, for seeing which way a figure moved; gaps where it is unknown.
pub fn spark(id: &str, title: String, values: &[Option<f64>], width: f64, height: f64) -> Chart {
    let mut c = Chart::new(id, "chart spark", width, height);
    c.title = title.clone();
    c.desc = title;
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        return c;
    }
    let (lo, hi) = known
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len().max(2) as f64 - 1.0;
    let px = |i: usize| 4.0 + (width - 8.0) * i as f64 / n;
    let py = |v: f64| 4.0 + (height - 8.0) * (1.0 - (v - lo) / span);
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                d.push_str(&format!(
                    "{}{} {}",
                    if pen_down { "L" } else { "M" },
                    r1(px(i)),
                    r1(py(*v))
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    c.path(d, "spark-line", String::new());
    if let Some((i, Some(v))) = values.iter().enumerate().rev().find(|(_, v)| v.is_some()) {
        c.path(
            format!(
                "M{} {}m-3 0a3 3 0 1 0 6 0a3 3 0 1 0 -6 0",
                r1(px(i)),
                r1(py(*v))
            ),
            "spark-dot",
            String::new(),
        );
    }
    c
}

/// Money on an axis, compact and alike on every tick: `€ 0`, `€ 500`, `€ 50k`, `€ 1.5M`.
pub fn money_axis(minor: f64, currency: throughline_core::Currency) -> String {
    let major = minor / 10f64.powi(currency.exponent() as i32);
    let sym = currency.symbol();
    let trim = |x: f64| {
        let text = format!("{x:.1}");
        text.strip_suffix(".0").map(String::from).unwrap_or(text)
    };
    if major.abs() >= 1_000_000.0 {
        format!("{sym} {}M", trim(major / 1_000_000.0))
    } else if major.abs() >= 1_000.0 {
        format!("{sym} {}k", trim(major / 1_000.0))
    } else {
        format!("{sym} {}", trim(major))
    }
}

/// A plain number for an axis: `1,250`, `2.5`.
pub fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        group(v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// `12,400`: thousands grouped with commas.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("−{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_step_in_round_numbers() {
        assert_eq!(nice_axis(82.0, 4, 1.0), (25.0, 100.0));
        assert_eq!(nice_axis(7.0, 4, 1.0), (2.0, 8.0));
        // An empty chart still counts in whole units.
        assert_eq!(nice_axis(0.0, 4, 1.0), (1.0, 1.0));
        assert_eq!(nice_axis(3.0, 5, 1.0), (1.0, 3.0));
        assert_eq!(
            nice_axis(22_150_000.0, 4, 100.0),
            (10_000_000.0, 30_000_000.0)
        );
    }

    #[test]
    fn numbers_group_by_thousands() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(-950), "−950");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(1000.0), "1,000");
        let eur = throughline_core::Currency::EUR;
        assert_eq!(money_axis(5_000_000.0, eur), "€ 50k");
        assert_eq!(money_axis(150_000_000.0, eur), "€ 1.5M");
        assert_eq!(money_axis(0.0, eur), "€ 0");
    }

    #[test]
    fn marked_columns_carry_a_shape_and_a_title() {
        let cols = vec![
            Column {
                label: "a".into(),
                actual: Some(10.0),
                projected: None,
                interval: None,
                mark: ColumnMark::Peak,
                short: false,
                title: "W1: 10".into(),
            },
            Column {
                label: "b".into(),
                actual: Some(1.0),
                projected: None,
                interval: None,
                mark: ColumnMark::Valley,
                short: false,
                title: "W2: 1".into(),
            },
            Column {
                label: "c".into(),
                actual: None,
                projected: Some(4.0),
                interval: Some((2.0, 6.0)),
                mark: ColumnMark::Normal,
                short: true,
                title: "W3".into(),
            },
        ];
        let chart = columns(ColumnChart {
            id: "t",
            title: "T".into(),
            desc: "D".into(),
            columns: cols,
            band: Some((5.0, Some(2.0))),
            pace: Some(5.0),
            tick: &fmt_num,
            min_step: 1.0,
            width: 400.0,
            height: 200.0,
        });
        let svg = chart.render().unwrap();
        assert!(svg.contains("class=\"mark peak\""), "{svg}");
        assert!(svg.contains("<title>Valley: W2: 1</title>"), "{svg}");
        assert!(svg.contains("class=\"bar projected short\""), "{svg}");
        assert!(svg.contains("projected →"));
    }
}
