// The tree page's script: draws the solution tree (laid out by the server) as SVG, shows a node's detail on
// click, and in live mode follows the run over server-sent events. Plain browser JavaScript, no dependencies.
(() => {
  var SVG_NS = "http://www.w3.org/2000/svg";
  var RADIUS = 17;
  var boot = JSON.parse(document.getElementById("aide-boot").textContent);
  var live = boot.mode === "live";
  var view = null;
  var selected = null;
  var details = boot.mode === "file" ? boot.details : {};

  function url(path) {
    // Relative to /runs/<id>, so the page also works behind a reverse proxy under a path prefix.
    return (
      encodeURIComponent(boot.runId) +
      path +
      (path.indexOf("?") >= 0 ? "&" : "?") +
      "token=" +
      encodeURIComponent(boot.token)
    );
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach((k) => {
        e.setAttribute(k, attrs[k]);
      });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach((k) => {
      e.setAttribute(k, String(attrs[k]));
    });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function firstLine(text) {
    // The task's first line, without the "#" of a markdown heading.
    var line =
      (text || "")
        .split(/\r?\n/)
        .map((l) => l.replace(/^#+\s*/, "").trim())
        .filter(Boolean)[0] || "";
    return line.length > 160 ? `${line.slice(0, 159)}…` : line;
  }

  function renderHeader(run) {
    document.title = `AIDE run ${run.id}: ${firstLine(run.task)}`;
    document.getElementById("run-title").textContent = `AIDE run ${run.id}: ${firstLine(run.task)}`;
    var facts = document.getElementById("run-facts");
    facts.textContent = "";
    var direction = run.lowerIsBetter === null ? "" : run.lowerIsBetter ? " (lower is better)" : " (higher is better)";
    var best =
      run.bestNodeId === null
        ? "none yet"
        : `${run.bestScoresText || `${run.metricName || "metric"} = ${run.bestMetricText}`}${direction}, node ${run.bestNodeId}`;
    [
      ["Status", run.status],
      ["Step", `${run.step} of ${run.totalSteps}`],
      ["Best", best],
      ["Coder", run.coder],
    ].forEach((f) => {
      var span = el("span", { class: "fact" });
      span.appendChild(el("b", null, `${f[0]}: `));
      span.appendChild(document.createTextNode(f[1]));
      facts.appendChild(span);
    });
    var state = document.getElementById("live-state");
    if (!live) state.textContent = "snapshot";
    else if (run.finished) state.textContent = "run ended";
    else state.textContent = "live";
    state.setAttribute("data-state", !live ? "snapshot" : run.finished ? "ended" : "live");
  }

  function renderTree() {
    var root = document.getElementById("tree");
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute("width", view.width);
    root.setAttribute("height", view.height);
    root.setAttribute("viewBox", `0 0 ${view.width} ${view.height}`);
    var pos = {};
    view.nodes.forEach((n) => {
      pos[n.id] = n;
    });
    var edges = svg("g", { class: "edges" });
    view.edges.forEach((e) => {
      var a = pos[e.from],
        b = pos[e.to];
      if (!a || !b) return;
      var my = (a.y + b.y) / 2;
      edges.appendChild(
        svg("path", {
          d:
            "M" +
            a.x +
            "," +
            (a.y + RADIUS) +
            " C" +
            a.x +
            "," +
            my +
            " " +
            b.x +
            "," +
            my +
            " " +
            b.x +
            "," +
            (b.y - RADIUS),
          class: "edge",
        }),
      );
    });
    root.appendChild(edges);
    var group = svg("g", { class: "nodes" });
    view.nodes.forEach((n) => {
      var classes = `node${n.buggy ? " buggy" : " working"}${n.best ? " best" : ""}${n.id === selected ? " selected" : ""}`;
      var g = svg("g", {
        class: classes,
        "data-id": n.id,
        tabindex: 0,
        role: "button",
        transform: `translate(${n.x},${n.y})`,
      });
      g.appendChild(svg("title", {}, `node ${n.id} (${n.stage}): ${n.scores || n.label}${n.best ? ", best" : ""}`));
      if (n.id === selected) g.appendChild(svg("circle", { r: RADIUS + 6, class: "ring" }));
      g.appendChild(svg("circle", { r: RADIUS, fill: n.fill, stroke: n.stroke, "stroke-width": n.best ? 4 : 2 }));
      g.appendChild(svg("text", { class: "node-id", "text-anchor": "middle", dy: "0.35em" }, n.id));
      g.appendChild(svg("text", { class: "node-label", "text-anchor": "middle", y: RADIUS + 14 }, n.label));
      if (n.best)
        g.appendChild(svg("text", { class: "star", "text-anchor": "middle", x: RADIUS, y: -RADIUS + 2 }, "★"));
      g.addEventListener("click", () => {
        select(n.id);
      });
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          select(n.id);
        }
      });
      group.appendChild(g);
    });
    root.appendChild(group);
    if (view.nodes.length === 0) {
      root.appendChild(
        svg(
          "text",
          { x: 20, y: 40, class: "empty" },
          live && !view.run.finished
            ? "No step has finished yet; nodes appear here as they do."
            : "This run has no nodes.",
        ),
      );
    }
  }

  function renderChart() {
    var fig = document.getElementById("chart-figure");
    var img = document.getElementById("chart");
    if (boot.mode === "file") {
      if (boot.chart) {
        img.src = boot.chart;
        fig.hidden = false;
      }
      return;
    }
    if (!view.nodes.length) return;
    img.src = url(`/chart.png?n=${view.nodes.length}&s=${encodeURIComponent(view.run.status)}`);
    fig.hidden = false;
  }

  function render(next) {
    view = next;
    renderHeader(view.run);
    renderTree();
    renderChart();
  }

  function section(parent, title, child) {
    var s = el("section", { class: "detail-section" });
    s.appendChild(el("h3", null, title));
    s.appendChild(child);
    parent.appendChild(s);
  }

  function renderDetail(d) {
    var box = document.getElementById("detail");
    box.textContent = "";
    var stage = d.members
      ? `ensemble of nodes ${d.members.join(", ")}`
      : d.parentId === null
        ? d.stage
        : `${d.stage} of node ${d.parentId}`;
    box.appendChild(el("h2", null, `Node ${d.id}${d.best ? " ★ best" : ""}`));
    box.appendChild(
      el("p", { class: "meta" }, `step ${d.step + 1} · ${stage} · ${(d.execTimeMs / 1000).toFixed(1)} s`),
    );
    var badge;
    if (d.metric) {
      const dir =
        d.metric.lowerIsBetter === null ? "" : d.metric.lowerIsBetter ? " (lower is better)" : " (higher is better)";
      badge = d.unranked
        ? el(
            "p",
            { class: "badge unranked", "data-kind": "unranked" },
            `${d.metric.scores}${dir} · not ranked: ${d.unranked}`,
          )
        : el("p", { class: "badge good", "data-kind": "metric" }, `${d.metric.scores}${dir}`);
    } else {
      const why = d.timedOut
        ? "timed out"
        : d.killed
          ? "killed by a limit"
          : d.exitCode !== null && d.exitCode !== 0
            ? `exit code ${d.exitCode}`
            : "no valid metric";
      badge = el("p", { class: "badge bad", "data-kind": "buggy" }, `buggy: ${why}`);
    }
    box.appendChild(badge);
    if (!d.submissionOk) box.appendChild(el("p", { class: "meta" }, "No valid submission file."));
    section(box, "Plan", el("p", { class: "plan" }, d.plan || "(no plan)"));
    section(box, "Review findings", el("p", { class: "findings" }, d.findings || "(none)"));
    var pre = el("pre", { class: "code" });
    var code = el("code", { class: "hljs language-python" });
    // codeHtml is produced by highlight.js on the server, which escapes every character of the script.
    code.innerHTML = d.codeHtml;
    pre.appendChild(code);
    section(box, "Code", pre);
    section(box, "Output", el("pre", { class: "output" }, d.output || "(no output)"));
  }

  function markSelected() {
    var nodes = document.querySelectorAll("#tree g.node");
    for (let i = 0; i < nodes.length; i++) {
      const id = Number(nodes[i].getAttribute("data-id"));
      nodes[i].classList.toggle("selected", id === selected);
    }
  }

  function select(id) {
    selected = id;
    renderTree();
    markSelected();
    if (details[id]) {
      renderDetail(details[id]);
      return;
    }
    var box = document.getElementById("detail");
    box.textContent = "";
    box.appendChild(el("p", { class: "hint" }, `Loading node ${id}…`));
    fetch(url(`/nodes/${id}`), { cache: "no-store" })
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      })
      .then((d) => {
        details[id] = d;
        if (selected === id) renderDetail(d);
      })
      .catch((err) => {
        if (selected !== id) return;
        box.textContent = "";
        box.appendChild(el("p", { class: "hint" }, `Could not load node ${id}: ${err.message}`));
      });
  }

  function follow() {
    var state = document.getElementById("live-state");
    var source = new EventSource(url("/stream"));
    source.addEventListener("tree", (ev) => {
      render(JSON.parse(ev.data));
    });
    source.addEventListener("end", () => {
      source.close();
      state.textContent = "run ended";
      state.setAttribute("data-state", "ended");
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        state.textContent = "disconnected";
        state.setAttribute("data-state", "disconnected");
      } else {
        state.textContent = "reconnecting…";
        state.setAttribute("data-state", "reconnecting");
      }
    };
  }

  if (live) follow();
  else render(boot.view);
})();
