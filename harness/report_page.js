// report.html's own script: draws the plotly figures, and each match's replay on a canvas, from the JSON in
// #gfsub-data. A click on a point of a match's step-time or margin plot moves its replay to that step. No network.
"use strict";
const DATA = JSON.parse(document.getElementById("gfsub-data").textContent);
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage"] };

for (const [id, figure] of Object.entries(DATA.figures)) {
  const element = document.getElementById(id);
  if (element) Plotly.newPlot(element, figure.data, figure.layout, PLOT_CONFIG);
}

// The pitch in gfootball's coordinates: x -1..1 (left goal to right goal), y -0.42..0.42 (top to bottom).
const PITCH = { x: 1.1, y: 0.5 };

class Replay {
  constructor(container, replay) {
    this.frames = replay.frames;
    this.wanted = replay.wanted || null; // per candidate step (step 1 first): top-3 actions, values, margin
    this.mark = replay.mark || null; // a step to flag: {step, label} (a replay's failing or first different step)
    this.actor = replay.actor || "candidate"; // whose action the frames hold
    this.index = 0;
    this.timer = null;
    container.innerHTML =
      '<canvas width="880" height="400"></canvas><div class="controls">' +
      '<button type="button">play</button> <input type="range" min="0" value="0" style="width:60%"> ' +
      '<span class="info"></span><div class="choice"></div></div>';
    this.canvas = container.querySelector("canvas");
    this.button = container.querySelector("button");
    this.slider = container.querySelector("input");
    this.info = container.querySelector(".info");
    this.choice = container.querySelector(".choice");
    this.slider.max = String(Math.max(0, this.frames.length - 1));
    this.button.addEventListener("click", () => this.toggle());
    this.slider.addEventListener("input", () => this.show(Number(this.slider.value)));
    this.show(0);
  }

  toggle() {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.button.textContent = "play";
      return;
    }
    this.button.textContent = "pause";
    this.timer = setInterval(() => {
      if (this.index >= this.frames.length - 1) return this.toggle();
      this.show(this.index + 1);
    }, 1000 / 30);
  }

  seek(step) {
    const found = this.frames.findIndex((frame) => frame[0] >= step);
    this.show(found < 0 ? this.frames.length - 1 : found);
  }

  point(x, y) {
    const c = this.canvas;
    return [((x + PITCH.x) / (2 * PITCH.x)) * c.width, ((y + PITCH.y) / (2 * PITCH.y)) * c.height];
  }

  show(index) {
    if (!this.frames.length) return;
    this.index = index;
    this.slider.value = String(index);
    const [step, left, right, ball, score, action, seconds] = this.frames[index];
    const g = this.canvas.getContext("2d");
    g.fillStyle = "#3a7d2c";
    g.fillRect(0, 0, this.canvas.width, this.canvas.height);
    g.strokeStyle = "rgba(255,255,255,0.8)";
    g.lineWidth = 2;
    const [x0, y0] = this.point(-1, -0.42);
    const [x1, y1] = this.point(1, 0.42);
    g.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const [cx] = this.point(0, 0);
    g.beginPath();
    g.moveTo(cx, y0);
    g.lineTo(cx, y1);
    g.stroke();
    for (const goal of [-1, 1]) {
      const [gx, gy0] = this.point(goal, -0.044);
      const [, gy1] = this.point(goal, 0.044);
      g.fillStyle = "#fff";
      g.fillRect(gx - (goal < 0 ? 6 : 0), gy0, 6, gy1 - gy0);
    }
    const dot = (x, y, colour, radius) => {
      const [px, py] = this.point(x, y);
      g.beginPath();
      g.arc(px, py, radius, 0, 2 * Math.PI);
      g.fillStyle = colour;
      g.fill();
    };
    left.forEach(([x, y]) => dot(x, y, "#ffd24a", 6));
    right.forEach(([x, y]) => dot(x, y, "#e8453c", 6));
    dot(ball[0], ball[1], "#ffffff", 4);
    const name = action === null || action === undefined ? "-" : `${action} ${DATA.actions[action] || "?"}`;
    const ms = seconds === null || seconds === undefined ? "-" : `${(seconds * 1000).toFixed(2)} ms`;
    const marked = this.mark && this.mark.step === step ? ` · ${this.mark.label}` : "";
    this.info.textContent = `step ${step} · score ${score[0]}-${score[1]} (left-right) · ${this.actor} ` +
      `action ${name} · step time ${ms}${marked}`;
    this.choice.textContent = this.describeChoice(step);
  }

  // What the model wanted at this step: its choice and the runner-up, by name, with their values.
  describeChoice(step) {
    if (!this.wanted) return "no Q-values: not a gfsub main.py";
    const top = this.wanted.top[step - 1];
    if (!top) return "no Q-values at this step";
    const values = this.wanted.values[step - 1];
    const named = (i) => `${DATA.actions[top[i]]} (${values[i].toPrecision(4)})`;
    let text = `model chose ${named(0)}`;
    if (top.length > 1) text += ` · runner-up ${named(1)} · margin ${this.wanted.margin[step - 1].toPrecision(3)}`;
    return text;
  }
}

for (const [id, replay] of Object.entries(DATA.replays)) {
  const container = document.getElementById(id);
  if (!container) continue;
  const player = new Replay(container, replay);
  container.dataset.ready = "1";
  for (const plotId of replay.plots || []) {
    const plot = document.getElementById(plotId);
    if (plot && plot.on) {
      plot.on("plotly_click", (event) => {
        if (event.points && event.points.length) player.seek(event.points[0].x);
      });
    }
  }
}
document.body.dataset.rendered = "1";
