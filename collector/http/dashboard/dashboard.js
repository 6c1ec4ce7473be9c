// The operations dashboard. Everything it shows comes from the collector's
// operator API: one snapshot and then live changes over /api/v1/stream, plus
// /api/v1/sites, /api/v1/incidents and /api/v1/device for the panels that the
// stream does not carry whole.
//
// Access: the operator enters a token once; it is kept in sessionStorage
// (this tab only, gone when the tab closes) and sent as
// `Authorization: Bearer`. The stream is read with fetch() and a
// ReadableStream rather than EventSource, which cannot send that header, so
// the token never appears in a URL or an access log.
"use strict";

(() => {
  const kTokenKey = "atmhealth.dashboard.token";
  const kStateOrder = ["unreachable", "out_of_service", "degraded", "in_service"];
  const kStateNames = {
    in_service: "in service", degraded: "degraded", out_of_service: "out of service",
    unreachable: "unreachable", unknown: "unknown",
  };
  const kLogLength = 50;

  const state = {
    fleet: null,
    devices: new Map(),    // device_id -> Device
    incidents: new Map(),  // incident_id -> open Incident
    recent: [],            // incidents of the last 24 h (GET /api/v1/incidents?status=recent)
    sites: [],             // GET /api/v1/sites
    selected: null,        // device id shown in the detail panel
    clockSkewMs: 0,        // collector clock minus this browser's
  };

  const $ = (selector) => document.querySelector(selector);

  // An element with attributes and children (strings become text nodes:
  // data from the collector is never parsed as HTML).
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(tbody, rows) { tbody.replaceChildren(...rows); }

  function now() { return Date.now() + state.clockSkewMs; }

  function duration(ms) {
    if (ms > 0 && ms < 1000) return `${Math.round(ms)} ms`;
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  function ago(time) { return time ? `${duration(now() - Date.parse(time))} ago` : "never"; }

  function stateLabel(name) {
    return el("span", {class: `state-label ${name}`}, kStateNames[name] || name);
  }

  // --- access -------------------------------------------------------------

  function token() { return sessionStorage.getItem(kTokenKey); }

  function askForToken(message) {
    setConnection("login", "token needed");
    const error = $("#login-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("#logout").hidden = true;
    const dialog = $("#login-dialog");
    if (!dialog.open) dialog.showModal();
    $("#token").focus();
  }

  class Refused extends Error {}

  async function api(path) {
    const response = await fetch(path, {
      headers: {Authorization: `Bearer ${token()}`}, cache: "no-store",
    });
    if (response.status === 401 || response.status === 403) throw new Refused(response.status);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  // --- the event stream ---------------------------------------------------

  let streamAbort = null;

  function setConnection(value, text) {
    const pill = $("#connection");
    pill.dataset.state = value;
    pill.textContent = text;
  }

  // Reads /api/v1/stream until it ends; throws Refused on 401/403.
  async function readStream(signal) {
    const response = await fetch("/api/v1/stream", {
      headers: {Authorization: `Bearer ${token()}`, Accept: "text/event-stream"},
      cache: "no-store", signal,
    });
    if (response.status === 401 || response.status === 403) throw new Refused(response.status);
    if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buffer += value.replace(/\r/g, "");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;  // keep-alive comment
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = text;
          else if (field === "data") data.push(text);
        }
        if (data.length > 0) onEvent(event, JSON.parse(data.join("\n")));
      }
    }
  }

  async function connect() {
    if (streamAbort) streamAbort.abort();
    const abort = new AbortController();
    streamAbort = abort;
    let backoffMs = 1000;
    while (!abort.signal.aborted) {
      if (!token()) { askForToken(); return; }
      setConnection("connecting", "connecting");
      try {
        await readStream(abort.signal);
        backoffMs = 1000;  // the collector closed it (overflow, restart): start over
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error instanceof Refused) {
          sessionStorage.removeItem(kTokenKey);
          askForToken(error.message === "403" ? "That token may not read the API."
                                              : "The collector does not know that token.");
          return;
        }
      }
      if (abort.signal.aborted) return;
      setConnection("offline", `offline, retrying in ${Math.round(backoffMs / 1000)}s`);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 30000);
    }
  }

  function countEvent(name) {
    const key = name === "snapshot" ? "snapshots" : "events";
    document.body.dataset[key] = String(Number(document.body.dataset[key]) + 1);
  }

  function onEvent(name, data) {
    countEvent(name);
    switch (name) {
      case "snapshot":
        setConnection("live", "live");
        $("#logout").hidden = false;
        state.devices = new Map(data.devices.map((d) => [d.device_id, d]));
        state.incidents = new Map(data.incidents.map((i) => [i.incident_id, i]));
        setFleet(data.fleet);
        renderDevices();
        renderIncidents();
        refreshLater();
        break;
      case "device":
        state.devices.set(data.device_id, data);
        renderDevices();
        if (state.selected === data.device_id) showDevice(data.device_id);
        refreshLater();
        break;
      case "alert":
        log(data.state, `${data.device_id}: ${data.summary || data.alert_key} ` +
            `(${data.severity}, ${data.category}) ${data.state}`);
        break;
      case "incident": {
        const known = state.incidents.has(data.incident_id);
        if (data.status === "open") state.incidents.set(data.incident_id, data);
        else state.incidents.delete(data.incident_id);
        if (known !== (data.status === "open")) {  // opened or closed, not just changed
          log(data.status === "open" ? "firing" : "resolved",
              `incident #${data.incident_id} ${data.status === "open" ? "opened" : "closed"}: ` +
              `${data.device_count} device(s), ${data.categories.join(", ")}`);
        }
        renderIncidents();
        refreshLater();
        break;
      }
      case "incident_merged":
        state.incidents.delete(data.incident_id);
        renderIncidents();
        break;
      case "tolerance":
        log(data.state, `${data.service}: ${data.percent} % of its impact tolerance ` +
            `(${duration(data.tolerance_ms)}) ${data.state === "firing" ? "reached" : "resolved"}` +
            ` in incident #${data.incident_id}`);
        break;
      case "fleet":
        setFleet(data);
        break;
      case "overflow":
        log("firing", "the stream fell behind; reconnecting");
        break;
      default:
        break;
    }
  }

  // --- panels ---------------------------------------------------------------

  function setFleet(fleet) {
    state.fleet = fleet;
    state.clockSkewMs = Date.parse(fleet.generated_at) - Date.now();
    for (const node of document.querySelectorAll("[data-count]")) {
      const key = node.dataset.count;
      node.textContent = String(key in fleet.by_state ? fleet.by_state[key] : fleet[key]);
    }
    fill($("#services tbody"), fleet.services.map((s) => el("tr", {dataset: {service: s.service}},
        el("td", {}, s.service), el("td", {}, s.in_service), el("td", {}, s.degraded),
        el("td", {}, s.out_of_service), el("td", {}, s.unknown))));
    $("#updated").textContent = `updated ${new Date(Date.parse(fleet.generated_at)).toLocaleTimeString()}`;
    renderCategories();
    renderLoad(fleet.load);
  }

  // The fleet's transaction load from the agents' feeds (heartbeats).
  function renderLoad(load) {
    const percent = (ratio) => `${(100 * ratio).toFixed(1)} %`;
    $("#fleet-tps").textContent = load.devices_reporting ? load.tps.toFixed(1) : "–";
    $("#load-summary").textContent = load.devices_reporting
        ? `${load.devices_reporting} device(s) reporting, ${percent(load.error_ratio)} errors, ` +
          `highest p99 ${Math.round(load.p99_ms_max)} ms`
        : "no device reports a transaction feed";
    fill($("#load tbody"), load.busiest.map((d) => el("tr", {dataset: {deviceId: d.device_id}},
        el("td", {}, d.device_id), el("td", {}, d.site_id), el("td", {}, d.tps.toFixed(1)),
        el("td", {}, percent(d.error_ratio)), el("td", {}, `${Math.round(d.p99_ms)} ms`))));
  }

  function notAvailable(device) {
    return device.services.filter((s) => !s.available)
        .map((s) => `${s.service} (${kStateNames[s.state] || s.state})`).join(", ");
  }

  function renderDevices() {
    const filter = $("#device-filter").value.trim().toLowerCase();
    const devices = [...state.devices.values()]
        .filter((d) => !filter || d.device_id.toLowerCase().includes(filter) ||
                       d.site_id.toLowerCase().includes(filter))
        .sort((a, b) => kStateOrder.indexOf(a.state) - kStateOrder.indexOf(b.state) ||
                        a.device_id.localeCompare(b.device_id));
    fill($("#devices tbody"), devices.map((d) => {
      const row = el("tr", {dataset: {deviceId: d.device_id, state: d.state},
                            class: d.device_id === state.selected ? "selected" : null},
          el("td", {}, d.device_id), el("td", {}, d.site_id), el("td", {}, stateLabel(d.state)),
          el("td", {}, notAvailable(d)),
          el("td", {}, d.firing_alerts.map((a) => `${a.severity}: ${a.summary || a.alert_key}`)
                                      .join("; ")),
          el("td", {class: "age", dataset: {since: d.last_heartbeat ? d.last_heartbeat.received_at : ""}},
             ago(d.last_heartbeat && d.last_heartbeat.received_at)));
      row.addEventListener("click", () => showDevice(d.device_id));
      return row;
    }));
  }

  // The share of its tolerance that a lost service has used, in percent.
  function toleranceUsed(service) {
    if (!service.lost || !service.tolerance_ms || !service.lost_since) return null;
    return (now() - Date.parse(service.lost_since)) / service.tolerance_ms * 100;
  }

  function toleranceBar(incident) {
    let worst = null;
    for (const service of incident.services) {
      const used = toleranceUsed(service);
      if (used !== null && (worst === null || used > worst.used)) worst = {used, service};
    }
    if (worst === null) return el("span", {class: "subtle"}, "no service lost");
    const level = worst.used >= 100 ? "breached" : worst.used >= 50 ? "half" : "ok";
    const filled = el("span", {});
    filled.style.width = `${Math.min(100, worst.used).toFixed(1)}%`;  // CSSOM: allowed by the CSP
    return el("div", {class: "bar", dataset: {level},
                      title: `${worst.service.service}: tolerance ${duration(worst.service.tolerance_ms)}`},
        filled,
        el("em", {}, `${worst.service.service} ${Math.floor(worst.used)} % of ` +
                     duration(worst.service.tolerance_ms)));
  }

  function renderIncidents() {
    const incidents = [...state.incidents.values()]
        .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
    $("#no-incidents").hidden = incidents.length > 0;
    fill($("#incidents tbody"), incidents.map((i) => el("tr", {dataset: {incidentId: i.incident_id}},
        el("td", {}, i.incident_id),
        el("td", {}, i.scope === "site" && i.site_id ? `site ${i.site_id}` : i.scope),
        el("td", {}, i.device_count > 5
            ? `${i.device_count} devices`
            : i.devices.map((d) => d.device_id).join(", ")),
        el("td", {}, i.categories.join(", ")),
        el("td", {}, i.services.filter((s) => s.lost).map((s) => s.service).join(", ") || "none"),
        el("td", {class: "age", dataset: {since: i.started_at}}, duration(now() - Date.parse(i.started_at))),
        el("td", {class: "tolerance"}, toleranceBar(i)))));
  }

  function renderCategories() {
    const counts = new Map();
    const row = (category) => {
      if (!counts.has(category)) counts.set(category, {open: 0, recent: 0});
      return counts.get(category);
    };
    const open = (state.fleet && state.fleet.incidents_open_by_category) || {};
    for (const [category, count] of Object.entries(open)) row(category).open = count;
    for (const incident of state.recent) {
      for (const category of incident.categories) row(category).recent += 1;
    }
    fill($("#categories tbody"), [...counts.entries()].sort().map(([category, c]) =>
        el("tr", {dataset: {category}}, el("td", {}, category), el("td", {}, c.open),
           el("td", {}, c.recent))));
  }

  function renderSites() {
    fill($("#sites tbody"), state.sites.map((s) => el("tr", {dataset: {siteId: s.site_id}},
        el("td", {}, s.name ? `${s.name} (${s.site_id})` : s.site_id),
        el("td", {}, s.open_now === null ? "?" : s.open_now ? "open" : "closed"),
        el("td", {}, `${s.by_state.in_service}/${s.device_count} in service`),
        el("td", {}, s.services.map((v) => `${v.service} ${v.devices_available}/${v.devices_offering}`)
                              .join(", ")))));
  }

  // Sites and recent incidents are re-read at most once a second after a change.
  let refreshTimer = null;
  function refreshLater() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      try {
        const [sites, recent] = await Promise.all([
          api("/api/v1/sites"), api("/api/v1/incidents?status=recent&limit=1000")]);
        state.sites = sites.sites;
        state.recent = recent.incidents;
        renderSites();
        renderCategories();
      } catch (error) {
        if (error instanceof Refused) connect();
      }
    }, 1000);
  }

  function contextList(context) {
    const entries = Object.entries(context || {});
    if (entries.length === 0) return null;
    return el("details", {}, el("summary", {}, "diagnostic context"),
        el("dl", {class: "context"}, entries.map(([key, value]) => [
          el("dt", {}, key),
          el("dd", {}, typeof value === "string" ? value : JSON.stringify(value, null, 1))])));
  }

  async function showDevice(id) {
    state.selected = id;
    $("#detail-panel").hidden = false;
    $("#detail-id").textContent = id;
    for (const row of document.querySelectorAll("#devices tbody tr")) {
      row.classList.toggle("selected", row.dataset.deviceId === id);
    }
    let device;
    try {
      device = await api(`/api/v1/device?id=${encodeURIComponent(id)}`);
    } catch (error) {
      $("#detail").replaceChildren(el("p", {class: "error"}, String(error.message)));
      return;
    }
    if (state.selected !== id) return;
    const beat = device.last_heartbeat;
    $("#detail").replaceChildren(
        el("p", {}, stateLabel(device.state), ` · site ${device.site_id}`,
           device.site && device.site.name ? ` (${device.site.name})` : "",
           ` · ${device.kind} · agent ${device.agent_version}`,
           beat ? ` · heartbeat every ${duration(beat.interval_ms)}, last ${ago(beat.received_at)},` +
                  ` backlog ${beat.backlog_events} events` : " · no heartbeat yet"),
        ...(beat && beat.feed ? [el("p", {class: "feed"},
            `transactions: ${beat.feed.tps.toFixed(1)}/s, ${(100 * beat.feed.error_ratio).toFixed(1)} % errors, ` +
            `p99 ${Math.round(beat.feed.p99_ms)} ms` +
            beat.feed.types.map((t) => ` · ${t.type} ${t.tps.toFixed(1)}/s`).join("") +
            (beat.feed.bad_lines_total ? ` · ${beat.feed.bad_lines_total} feed lines refused` : ""))] : []),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "service"), el("th", {}, "state"),
                                          el("th", {}, "since"), el("th", {}, "reason"))),
           el("tbody", {}, device.services.map((s) => el("tr", {},
               el("td", {}, s.service), el("td", {}, stateLabel(s.state)),
               el("td", {}, s.since ? ago(s.since) : ""),
               el("td", {}, s.reason_summary || s.reason || ""))))),
        el("h3", {}, "Alert history"),
        el("table", {class: "history"},
           el("thead", {}, el("tr", {}, el("th", {}, "detected"), el("th", {}, "alert"),
                              el("th", {}, "state"), el("th", {}, "category"))),
           el("tbody", {}, device.alert_history.map((a) => el("tr", {dataset: {alertState: a.state,
                                                                            drill: a.drill ? "true" : "false"}},
               el("td", {}, new Date(Date.parse(a.detected_at)).toLocaleString()),
               el("td", {}, `${a.severity}: ${a.summary || a.alert_key}`, contextList(a.context)),
               el("td", {}, a.state), el("td", {}, a.category))))),
        el("h3", {}, "Incidents"),
        el("ul", {}, device.incidents.map((i) => el("li", {},
            `#${i.incident_id} ${i.status}, ${i.categories.join(", ")}, started ` +
            `${new Date(Date.parse(i.started_at)).toLocaleString()}, ${duration(i.duration_s * 1000)}`))));
  }

  // --- log and clocks -------------------------------------------------------

  function log(kind, text) {
    const list = $("#log");
    list.prepend(el("li", {class: kind}, `${new Date().toLocaleTimeString()} ${text}`));
    while (list.children.length > kLogLength) list.lastChild.remove();
  }

  function tick() {
    for (const node of document.querySelectorAll("#incidents .age")) {
      node.textContent = duration(now() - Date.parse(node.dataset.since));
    }
    for (const node of document.querySelectorAll("#devices .age")) {
      node.textContent = ago(node.dataset.since);
    }
    for (const row of document.querySelectorAll("#incidents tbody tr")) {
      const incident = state.incidents.get(Number(row.dataset.incidentId));
      if (incident) row.querySelector(".tolerance").replaceChildren(toleranceBar(incident));
    }
  }

  // --- start ----------------------------------------------------------------

  function start() {
    $("#login").addEventListener("submit", () => {
      const value = $("#token").value.trim();
      if (!value) return;
      sessionStorage.setItem(kTokenKey, value);
      $("#token").value = "";
      connect();
    });
    $("#logout").addEventListener("click", () => {
      sessionStorage.removeItem(kTokenKey);
      if (streamAbort) streamAbort.abort();
      askForToken();
    });
    $("#device-filter").addEventListener("input", renderDevices);
    $("#detail-close").addEventListener("click", () => {
      state.selected = null;
      $("#detail-panel").hidden = true;
      renderDevices();
    });
    setInterval(tick, 1000);
    connect();
  }

  start();
})();
