//! The charts a reader looks at first: bars grouped by scenario (memory read, memory write,
//! Redis read, …), one colour per crate, with a legend.

use std::fmt::Write as _;

/// Colours by series, in the order series first appear.
const PALETTE: [&str; 6] = ["#4a78b5", "#e08a2c", "#5aa05a", "#9467bd", "#8c8c8c", "#c44e52"];

/// A scenario's name split into its group (`memory, read`) and its series (`ours`): the
/// part before ` on ` names the crate; a trailing `, no rolling refresh` is a variant of the
/// crate, not another scenario. A name without ` on ` (a baseline) is a group of its own, in
/// the series `no session`.
fn split(name: &str) -> (String, String) {
    let Some((series, group)) = name.split_once(" on ") else {
        return (name.to_owned(), "no session".to_owned());
    };
    match group.strip_suffix(", no rolling refresh") {
        Some(group) => (group.to_owned(), format!("{series}, no rolling refresh")),
        None => (group.to_owned(), series.to_owned()),
    }
}

/// A horizontal bar chart of `values` (scenario name, figure) titled `title`, grouped by
/// scenario in the order the groups first appear.
pub fn grouped(title: &str, values: &[(String, f64)]) -> String {
    let mut groups: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    for (name, value) in values {
        let (group, label) = split(name);
        if !series.contains(&label) {
            series.push(label.clone());
        }
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, bars)) => bars.push((label, *value)),
            None => groups.push((group, vec![(label, *value)])),
        }
    }
    let colour = |label: &str| {
        let index = series.iter().position(|s| s == label).unwrap_or(0);
        PALETTE[index % PALETTE.len()]
    };
    let (width, bar, gap, label_width) = (900.0, 16.0, 14.0, 300.0);
    let legend_height = 20.0 * series.len() as f64 + 10.0;
    let bars: usize = groups.iter().map(|(_, bars)| bars.len()).sum();
    let height = 40.0 + legend_height + bars as f64 * (bar + 2.0) + groups.len() as f64 * gap;
    let max = values.iter().map(|(_, v)| *v).fold(1.0, f64::max);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\"><rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/><text x=\"10\" y=\"22\" font-size=\"15\">{}</text>",
        escape(title)
    );
    for (i, label) in series.iter().enumerate() {
        let y = 34.0 + 20.0 * i as f64;
        let _ = write!(
            out,
            "<rect x=\"10\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{}\"/>\
             <text x=\"30\" y=\"{:.0}\">{}</text>",
            colour(label),
            y + 12.0,
            escape(label)
        );
    }
    let mut y = 40.0 + legend_height;
    for (group, bars) in &groups {
        let _ = write!(
            out,
            "<text x=\"10\" y=\"{:.0}\" font-weight=\"bold\">{}</text>",
            y + 12.0,
            escape(group)
        );
        for (label, value) in bars {
            let length = (width - label_width - 90.0) * value / max;
            let _ = write!(
                out,
                "<rect x=\"{label_width}\" y=\"{y:.0}\" width=\"{length:.1}\" height=\"{bar}\" \
                 fill=\"{}\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.0}\">{value:.0}</text>",
                colour(label),
                escape(label),
                label_width + length + 6.0,
                y + 12.0
            );
            y += bar + 2.0;
        }
        y += gap;
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_is_grouped_by_store_and_operation_with_its_crate_as_the_series() {
        assert_eq!(split("ours on memory, read"), ("memory, read".into(), "ours".into()));
        let (group, series) = split("ours on Redis, write, no rolling refresh");
        assert_eq!((group.as_str(), series.as_str()), ("Redis, write", "ours, no rolling refresh"));
        let (group, series) = split("no session (baseline)");
        assert_eq!((group.as_str(), series.as_str()), ("no session (baseline)", "no session"));
    }

    #[test]
    fn every_series_gets_a_legend_entry_and_a_colour() {
        let values =
            [("ours on memory, read".to_owned(), 2.0), ("peer on memory, read".into(), 1.0)];
        let chart = grouped("t", &values);
        assert!(chart.contains(">ours</text>") && chart.contains(">peer</text>"), "{chart}");
        assert!(chart.contains(PALETTE[0]) && chart.contains(PALETTE[1]));
    }
}
