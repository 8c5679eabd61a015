//! The `--svg` plot of a run: three panels over the seconds of the measured
//! phase — operations per second, MiB per second, and p50/p99 latency in
//! milliseconds — drawn with plotters' SVG backend (no fonts or system
//! libraries: text is left to the SVG viewer).

use crate::report::Report;
use crate::spec::MIB;
use plotters::prelude::*;
use std::path::Path;

/// Width and height of the plot in SVG pixels.
pub const PLOT_SIZE: (u32, u32) = (1000, 900);
const CAPTION_FONT_SIZE: u32 = 18;
const MARGIN: u32 = 12;
const X_LABEL_AREA: u32 = 32;
const Y_LABEL_AREA: u32 = 70;
const LEGEND_LINE_LEN: i32 = 20;
/// Headroom above the highest point of a panel.
const Y_HEADROOM: f64 = 1.1;

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

struct Line {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// Writes the plot of `report`'s time series to `path`.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), PlotError> {
    let err = |e: &dyn std::fmt::Display| PlotError {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let series = |f: &dyn Fn(&crate::report::Second) -> f64| -> Vec<(f64, f64)> {
        // A second is plotted at its end, so the first point is at x = 1.
        report
            .timeline
            .iter()
            .map(|s| (s.second as f64 + 1.0, f(s)))
            .collect()
    };
    let panels = [
        (
            "operations per second",
            "ops/s",
            vec![Line {
                label: "ops/s",
                color: BLUE,
                points: series(&|s| s.ops as f64),
            }],
        ),
        (
            "throughput (MiB/s = 2^20 bytes/s)",
            "MiB/s",
            vec![Line {
                label: "MiB/s",
                color: GREEN,
                points: series(&|s| s.bytes as f64 / MIB as f64),
            }],
        ),
        (
            "latency of the operations ending in each second",
            "ms",
            vec![
                Line {
                    label: "p50",
                    color: BLACK,
                    points: series(&|s| s.p50_ms),
                },
                Line {
                    label: "p99",
                    color: RED,
                    points: series(&|s| s.p99_ms),
                },
            ],
        ),
    ];
    let root = SVGBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!(
        "cairn bench {} — {}, {} workers, size {}",
        report.workload, report.endpoint, report.concurrency, report.size
    );
    let root = root
        .titled(&title, ("sans-serif", CAPTION_FONT_SIZE + 2))
        .map_err(|e| err(&e))?;
    let x_max = report.timeline.len().max(1) as f64 + 1.0;
    for (area, (caption, unit, lines)) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let y_max = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(f64::EPSILON)
            * Y_HEADROOM;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", CAPTION_FONT_SIZE))
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc(unit)
            .draw()
            .map_err(|e| err(&e))?;
        for line in lines {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(line.points, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(line.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + LEGEND_LINE_LEN, y)], color)
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
