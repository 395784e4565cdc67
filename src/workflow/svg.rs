//! Draws a definition as an SVG state diagram, on the server (the console fetches nothing to
//! draw it): states in columns by their distance from the start, transitions as arrows labelled
//! with their events, the current state and the path an instance took marked.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write;

use super::definition::Definition;

const BOX_WIDTH: i32 = 160;
const BOX_HEIGHT: i32 = 40;
const GAP_X: i32 = 110;
const GAP_Y: i32 = 46;
const MARGIN: i32 = 40;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Each state's column and row: states in the order the start reaches them (breadth first;
/// those it cannot reach last), each a column right of every state that leads to it earlier in
/// that order (the longest such path), so arrows run left to right but for the way back.
fn layout(definition: &Definition) -> HashMap<String, (i32, i32)> {
    let mut order: Vec<String> = vec![definition.start.to.clone()];
    let mut queue = VecDeque::from([definition.start.to.clone()]);
    while let Some(state) = queue.pop_front() {
        for (from, _, step) in &definition.ordered_transitions {
            if *from == state && !order.contains(&step.to) {
                order.push(step.to.clone());
                queue.push_back(step.to.clone());
            }
        }
    }
    for name in definition.state_names() {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut column: HashMap<&str, i32> = order.iter().map(|name| (name.as_str(), 0)).collect();
    // Forward edges (earlier to later in the order) form no cycle: one pass in order settles them.
    for name in &order {
        for (from, _, step) in &definition.ordered_transitions {
            if step.to == *name && rank.get(from.as_str()) < rank.get(name.as_str()) {
                let candidate = column[from.as_str()] + 1;
                let entry = column.get_mut(name.as_str()).expect("every state is ordered");
                *entry = (*entry).max(candidate);
            }
        }
    }
    let mut rows: HashMap<i32, i32> = HashMap::new();
    order
        .iter()
        .map(|name| {
            let x = column[name.as_str()];
            let row = rows.entry(x).or_insert(0);
            *row += 1;
            (name.clone(), (x, *row - 1))
        })
        .collect()
}

/// The SVG of `definition`, with `current` marked and the states of `path` (the states the
/// instance entered, in order) and the transitions between them drawn as taken.
pub fn svg(definition: &Definition, current: &str, path: &[String]) -> String {
    let at = layout(definition);
    let position = |state: &str| {
        let (column, row) = at.get(state).copied().unwrap_or((0, 0));
        (
            MARGIN + 20 + column * (BOX_WIDTH + GAP_X),
            MARGIN + row * (BOX_HEIGHT + GAP_Y),
        )
    };
    let visited: HashSet<&str> = path.iter().map(String::as_str).collect();
    let taken: HashSet<(&str, &str)> = path
        .windows(2)
        .map(|pair| (pair[0].as_str(), pair[1].as_str()))
        .collect();
    let columns = at.values().map(|(column, _)| *column).max().unwrap_or(0) + 1;
    let rows = at.values().map(|(_, row)| *row).max().unwrap_or(0) + 1;
    let width = 2 * MARGIN + 20 + columns * (BOX_WIDTH + GAP_X);
    let height = 2 * MARGIN + rows * (BOX_HEIGHT + GAP_Y) + 40;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"workflow-diagram\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{} {} state diagram, current state {}\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#64748b\"/></marker>\
         <marker id=\"arrow-taken\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1d4ed8\"/></marker></defs>\
         <style>.edge{{fill:none;stroke:#94a3b8;stroke-width:1.2}}.edge.taken{{stroke:#1d4ed8;stroke-width:2.6}}\
         .label{{font:10px system-ui,sans-serif;fill:#334155;paint-order:stroke;stroke:#fff;stroke-width:3px}}\
         .state rect{{fill:#f8fafc;stroke:#64748b;stroke-width:1.2}}.state.visited rect{{fill:#dbeafe;stroke:#1d4ed8}}\
         .state.current rect{{fill:#fde68a;stroke:#b45309;stroke-width:3}}.state.terminal rect{{stroke-dasharray:0;rx:14}}\
         .state text{{font:13px system-ui,sans-serif;fill:#0f172a;text-anchor:middle}}.state.current text{{font-weight:700}}</style>",
        escape(&definition.kind),
        definition.version,
        escape(current)
    );
    // The start.
    let (start_x, start_y) = position(&definition.start.to);
    let _ = write!(
        out,
        "<circle cx=\"{}\" cy=\"{}\" r=\"7\" fill=\"#0f172a\"/><path class=\"edge{}\" d=\"M{},{} L{},{}\" marker-end=\"url(#{})\"/>",
        MARGIN - 4,
        start_y + BOX_HEIGHT / 2,
        if visited.is_empty() { "" } else { " taken" },
        MARGIN + 3,
        start_y + BOX_HEIGHT / 2,
        start_x - 2,
        start_y + BOX_HEIGHT / 2,
        if visited.is_empty() {
            "arrow"
        } else {
            "arrow-taken"
        },
    );
    // Transitions between the same two states share one arrow.
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (from, on, step) in &definition.ordered_transitions {
        edges
            .entry((from.clone(), step.to.clone()))
            .or_default()
            .push(on.to_string());
    }
    for (index, ((from, to), events)) in edges.iter().enumerate() {
        let is_taken = taken.contains(&(from.as_str(), to.as_str()));
        let class = if is_taken { "edge taken" } else { "edge" };
        let marker = if is_taken { "arrow-taken" } else { "arrow" };
        let (fx, fy) = position(from);
        let (tx, ty) = position(to);
        let label = escape(&events.join(", "));
        let (d, lx, ly) = if from == to {
            let (x, y) = (fx + BOX_WIDTH / 2, fy);
            (
                format!(
                    "M{},{y} C{},{} {},{} {},{y}",
                    x - 20,
                    x - 30,
                    y - 34,
                    x + 30,
                    y - 34,
                    x + 20
                ),
                x,
                y - 30,
            )
        } else if tx > fx {
            let (x1, y1, x2, y2) = (fx + BOX_WIDTH, fy + BOX_HEIGHT / 2, tx - 2, ty + BOX_HEIGHT / 2);
            let mid = (x1 + x2) / 2;
            (
                format!("M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"),
                mid,
                (y1 + y2) / 2 - 4 + (index as i32 % 3 - 1) * 11,
            )
        } else if tx == fx {
            // Within a column: a curve out to its right.
            let (x, y1, y2) = (fx + BOX_WIDTH, fy + BOX_HEIGHT / 2, ty + BOX_HEIGHT / 2);
            let bulge = x + 36 + (y1 - y2).abs() / 6;
            (
                format!("M{x},{y1} C{bulge},{y1} {bulge},{y2} {},{y2}", x + 2),
                bulge - 8,
                (y1 + y2) / 2,
            )
        } else {
            // Back: a curve below.
            let (x1, y1, x2, y2) = (
                fx + BOX_WIDTH / 2,
                fy + BOX_HEIGHT,
                tx + BOX_WIDTH / 2,
                ty + BOX_HEIGHT,
            );
            let depth = fy.max(ty) + BOX_HEIGHT + 30;
            (
                format!("M{x1},{y1} C{x1},{depth} {x2},{depth} {x2},{}", y2 + 2),
                (x1 + x2) / 2,
                depth - 6,
            )
        };
        let _ = write!(
            out,
            "<g data-from=\"{}\" data-to=\"{}\"><path class=\"{class}\" d=\"{d}\" marker-end=\"url(#{marker})\"/>\
             <text class=\"label\" x=\"{lx}\" y=\"{ly}\" text-anchor=\"middle\">{label}</text></g>",
            escape(from),
            escape(to)
        );
    }
    for name in definition.state_names() {
        let state = definition.state(&name).expect("a state of the definition");
        let (x, y) = position(&name);
        let mut class = String::from("state");
        if visited.contains(name.as_str()) {
            class += " visited";
        }
        if name == current {
            class += " current";
        }
        if state.terminal {
            class += " terminal";
        }
        let radius = if state.terminal { 14 } else { 4 };
        let _ = write!(
            out,
            "<g class=\"{class}\" data-state=\"{}\"><title>{} ({}{})</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_WIDTH}\" height=\"{BOX_HEIGHT}\" rx=\"{radius}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            escape(&name),
            escape(&name),
            escape(&state.status),
            if state.terminal { ", final" } else { "" },
            x + BOX_WIDTH / 2,
            y + BOX_HEIGHT / 2 + 4,
            escape(&name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::svg;

    #[test]
    fn the_current_state_and_the_path_taken_are_marked() {
        let definitions = crate::workflow::load_built_in().expect("the shipped workflows");
        let payment = definitions.get("payment", 1).expect("the payment workflow");
        let path = ["submitting", "awaiting_customer", "succeeded"].map(String::from);
        let drawn = svg(payment, "succeeded", &path);
        assert!(drawn.starts_with("<svg") && drawn.ends_with("</svg>"));
        assert!(drawn.contains("class=\"state visited current terminal\" data-state=\"succeeded\""));
        assert!(drawn.contains("class=\"state visited\" data-state=\"awaiting_customer\""));
        assert!(drawn.contains("class=\"state terminal\" data-state=\"cancelled\""));
        let taken = drawn
            .split("<g data-from=\"awaiting_customer\" data-to=\"succeeded\">")
            .nth(1)
            .expect("the arrow awaiting_customer -> succeeded");
        assert!(taken.starts_with("<path class=\"edge taken\""), "{taken}");
        let not_taken = drawn
            .split("<g data-from=\"awaiting_customer\" data-to=\"failed\">")
            .nth(1)
            .expect("the arrow awaiting_customer -> failed");
        assert!(not_taken.starts_with("<path class=\"edge\""), "{not_taken}");
        for state in payment.state_names() {
            assert_eq!(
                drawn.matches(&format!("data-state=\"{state}\"")).count(),
                1,
                "{state}"
            );
        }
    }
}
