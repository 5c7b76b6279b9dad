package bench

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of the PNG images WritePlots draws, in pixels.
const (
	PlotWidthPx  = 960
	PlotHeightPx = 480
	plotDPI      = 96
)

// logSpread is the ratio of largest to smallest value above which a plot's value axis is
// logarithmic: beyond it, a linear axis would flatten the small bars to nothing.
const logSpread = 20

// plotColors are the bar colours of the first, second, ... system (the subject first).
var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
}

// WritePlots draws, from the reports of systems (a nil report: not measured), two PNG
// images of PlotWidthPx x PlotHeightPx into dir: PREFIX-throughput.png, grouped bars of
// throughput per workload per system, and PREFIX-p99.png, the same of p99 latency. A
// value axis is logarithmic when its values spread over more than a factor of 20. title
// (for example "3 members") is appended to each plot's title. It returns the paths
// written.
func WritePlots(dir, prefix, title string, systems []Named) ([]string, error) {
	if len(systems) == 0 {
		return nil, errors.New("no systems to plot")
	}
	workloads := workloadOrder(systems[0], systems[1:])
	if len(workloads) == 0 {
		return nil, errors.New("no results to plot")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	suffix := ""
	if title != "" {
		suffix = ", " + title
	}
	charts := []struct {
		file, title, ylabel string
		value               func(*Result) float64
	}{
		{"throughput", "Throughput" + suffix + " (higher is better)", "operations/s",
			func(r *Result) float64 { return r.Throughput }},
		{"p99", "p99 latency" + suffix + " (lower is better)", "p99 latency, ms",
			func(r *Result) float64 { return r.Latency.P99 }},
	}
	var paths []string
	for _, ch := range charts {
		p, err := barPlot(ch.title, ch.ylabel, workloads, systems, ch.value)
		if err != nil {
			return paths, err
		}
		path := filepath.Join(dir, prefix+"-"+ch.file+".png")
		if err := savePNG(p, path); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// barPlot builds a plot of grouped bars: one group per workload, one bar per system.
func barPlot(title, ylabel string, workloads []string, systems []Named, value func(*Result) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = false

	lo, hi := math.Inf(1), math.Inf(-1)
	groups := make([]*bars, len(systems))
	for j, s := range systems {
		vals := make([]float64, len(workloads))
		for i, wl := range workloads {
			vals[i] = math.NaN()
			if r := find(s.Report, wl); r != nil {
				v := value(r)
				vals[i] = v
				if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		groups[j] = &bars{vals: vals, index: j, count: len(systems), color: plotColors[j%len(plotColors)]}
	}
	if math.IsInf(lo, 1) { // nothing measured: an empty linear axis
		lo, hi = 1, 1
	}
	logScale := hi/lo > logSpread
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	for j, g := range groups {
		g.log = logScale
		p.Add(g)
		name := systems[j].Name
		if systems[j].Report == nil {
			name += " (not measured)"
		}
		p.Legend.Add(name, g)
	}
	// A labelled case ("session-churn (256 churners)") takes two lines under its group.
	names := make([]string, len(workloads))
	for i, wl := range workloads {
		names[i] = strings.Replace(wl, " (", "\n(", 1)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(workloads))-0.5
	p.X.Padding = 0
	if logScale {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = shortTicks{plot.LogTicks{Prec: -1}}
		p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)))
		p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
		p.Y.Label.Text += " (log scale)"
	} else {
		p.Y.Min = 0
		p.Y.Max = hi * 1.15 // room for the legend
	}
	return p, nil
}

// shortTicks labels the ticks of its marker 100, 1k, 10k, 1M rather than 100, 1000,
// 10000, 1e+06.
type shortTicks struct{ plot.Ticker }

func (t shortTicks) Ticks(min, max float64) []plot.Tick {
	ticks := t.Ticker.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = shortNumber(ticks[i].Value)
		}
	}
	return ticks
}

// shortNumber formats v with a k or M suffix from a thousand on.
func shortNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// bars is one system's bars in a grouped bar chart: bar i stands at x = i, shifted by the
// system's index within its group. NaN values (not measured) and, on a log scale, values
// that are not positive are left out.
type bars struct {
	vals         []float64
	index, count int
	color        color.Color
	log          bool
}

// groupWidth is the share of the distance between two groups that a group's bars fill.
const groupWidth = 0.8

func (b *bars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	unit := trX(1) - trX(0)
	w := unit * groupWidth / vg.Length(b.count)
	off := (vg.Length(b.index) - vg.Length(b.count-1)/2) * w
	bottom := c.Min.Y
	for i, v := range b.vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || (b.log && v <= 0) {
			continue
		}
		v = math.Max(math.Min(v, plt.Y.Max), plt.Y.Min)
		x := trX(float64(i)) + off
		top := trY(v)
		if top <= bottom {
			continue
		}
		c.FillPolygon(b.color, []vg.Point{
			{X: x - w/2, Y: bottom}, {X: x + w/2, Y: bottom},
			{X: x + w/2, Y: top}, {X: x - w/2, Y: top},
		})
	}
}

// DataRange reports the x range of the groups and the y range of the values; WritePlots
// sets the y axis itself.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, v := range b.vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || (b.log && v <= 0) {
			continue
		}
		ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 1, 1
	}
	if !b.log {
		ymin = 0
	}
	return -0.5, float64(len(b.vals)) - 0.5, ymin, ymax
}

// Thumbnail draws the legend's swatch.
func (b *bars) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	})
}

// savePNG renders p into a PNG image of PlotWidthPx x PlotHeightPx at path.
func savePNG(p *plot.Plot, path string) error {
	w := vg.Length(PlotWidthPx) / plotDPI * vg.Inch
	h := vg.Length(PlotHeightPx) / plotDPI * vg.Inch
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
