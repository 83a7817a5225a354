// The desk console: sign-in, the queues, complaints, bookings, the customer file, handover, KPIs.
// Plain ES modules; every element a test needs has a data-test attribute.
import { call, command, get, getAll, setPageSize, setToken, token, whenUnauthorized, whoAmI } from "./api.js";
import { LANGUAGES, currentLanguage, setLanguage, t, translatePage } from "./i18n.js";

// the choices offered, from the contract: /api/me's vocabulary (filled at sign-in)
let EQUIPMENT = [];
let OUTCOMES = [];
let REMEDIES = [];
let ROOT_CAUSES = [];
const VIEWS = [
  "awaiting", "callbacks", "incomplete", "cancellations", "complaints", "bookings", "customers", "handover", "kpis",
];
// today's headline figures on the KPI view (the dashboard has them all)
const KPI_FIGURES = [
  "inquiries", "bookings.requested", "bookings.confirmed", "bookings.rejected", "bookings.cancelled",
  "bookings.no_shows", "complaints.registered", "complaints.resolved", "complaints.escalated",
  "first_response.replies", "satisfaction.responses",
];
const SUPERVISOR_ONLY = new Set(["handover", "kpis"]);
// a case of the case library (CaseRecord in the contract)
let CASE_FIELDS = [];

const state = {
  me: null,
  view: "awaiting",
  seen: {}, // list name → Set of ids already shown (new ones are highlighted)
  timer: null,
  customerId: null,
  complaintId: null,
  completing: null,
  room: null,
  bookPanel: null, // { customerId, el }: the "book for this customer" panel, kept across redraws
};

// -- small DOM helpers (text only: nothing a customer wrote is ever parsed as HTML) -----------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "test") el.dataset.test = v;
    else if (k === "i18n") {
      el.dataset.i18n = v;
      el.textContent = t(v);
    } else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
const label = (key, ...fields) => h("label", {}, h("span", { i18n: key }), ...fields);
const button = (key, test, onclick, cls) => h("button", { type: "button", i18n: key, test, onclick, class: cls });

function select(test, values, prefix, selected) {
  return h(
    "select",
    { test },
    values.map((v) => h("option", { value: v, selected: v === selected }, prefix ? t(prefix + v) : v)),
  );
}

function status(message, kind = "info") {
  const el = $("[data-test=status]");
  el.textContent = message;
  el.className = "status " + kind;
  el.dataset.kind = kind;
}

function refusal(result) {
  const d = result.data || {};
  if (result.status === 503) return t("unavailable") + (d.service ? `: ${d.service}` : "");
  if (result.status === 403) return t("forbidden") + (d.reason ? `: ${d.reason}` : "");
  return d.reason || d.error || `${result.status}`;
}

// after a command: its outcome in the status line; true when it was done
function outcome(result, doneKey = "done") {
  if (result.ok && (result.data.outcome === "done" || result.data.outcome === "already_applied" || result.data.repeated)) {
    status(t(doneKey), "ok");
    return true;
  }
  status(t("refused") + ": " + refusal(result), "error");
  return false;
}

// -- time ---------------------------------------------------------------------------------------
function tz() {
  return (state.me && state.me.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone;
}
function fmtTime(iso, withDate = true) {
  if (!iso) return "—";
  const opts = { timeZone: tz(), hour: "2-digit", minute: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(currentLanguage(), opts).format(new Date(iso));
}
function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(Math.abs(seconds)));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (d ? `${d}${t("unit.day")} ` : "") + `${two(hh)}:${two(mm)}:${two(ss)}`;
}
// the venue's wall-clock parts of an instant
function zonedParts(date) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    hour12: false,
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type).value;
  return { date: `${get("year")}-${get("month")}-${get("day")}`, time: `${get("hour").replace("24", "00")}:${get("minute")}` };
}
function today() {
  return zonedParts(new Date()).date;
}
// a venue date and time → ISO-8601 with the venue's UTC offset at that moment
function zonedISO(day, time) {
  const [y, mo, d] = day.split("-").map(Number);
  const [hh, mi] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mi);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = zonedParts(new Date(guess));
    const [py, pmo, pd] = p.date.split("-").map(Number);
    const [ph, pmi] = p.time.split(":").map(Number);
    guess += wall - Date.UTC(py, pmo - 1, pd, ph, pmi);
  }
  const offset = Math.round((wall - guess) / 60000);
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const two = (n) => String(n).padStart(2, "0");
  return `${day}T${two(hh)}:${two(mi)}:00${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

// every second: waiting times count up, complaint clocks count down
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = fmtDuration((now - Number(el.dataset.since)) / 1000);
  }
  for (const el of document.querySelectorAll("[data-due]")) {
    const left = (Number(el.dataset.due) - now) / 1000;
    el.textContent = (left < 0 ? t("overdue_by") + " " : "") + fmtDuration(left);
    el.classList.toggle("late", left < 0);
  }
}

// -- lists: rows that arrived since the list was first shown stay highlighted for a while ---------------
const NEW_FOR_MS = 30_000;
function markNew(list, rows) {
  const now = Date.now();
  const first = state.seen[list]; // id → when it first appeared (0: there from the start)
  const next = new Map();
  for (const r of rows) {
    const id = r.dataset.id;
    const since = first ? (first.has(id) ? first.get(id) : now) : 0;
    next.set(id, since);
    if (since && now - since < NEW_FOR_MS) {
      r.classList.add("new");
      r.dataset.new = "true";
    }
  }
  state.seen[list] = next;
}

function table(test, headKeys, rows, emptyKey = "empty") {
  if (!rows.length) return h("p", { test: test + "-empty", class: "empty", i18n: emptyKey });
  return h(
    "table",
    { test },
    h("thead", {}, h("tr", {}, headKeys.map((k) => h("th", { i18n: k })))),
    h("tbody", {}, rows),
  );
}

function scopeParams() {
  // an agent sees their own work by default; a supervisor the team, or one agent
  const scope = $("[data-test=scope]").value;
  const agent = $("[data-test=filter-agent]").value.trim();
  if (agent) return { assignee: agent };
  if (scope === "mine") return { assignee: state.me.principal };
  if (scope === "unassigned") return { assignee: "none" };
  return {};
}

function failed(container, result) {
  container.replaceChildren(h("p", { class: "error", test: "load-error" }, refusal(result)));
}

function badge(view, n) {
  const el = $(`[data-test=count-${view}]`);
  if (el) el.textContent = n ? String(n) : "";
}

// -- Awaiting reply -----------------------------------------------------------------------------
async function awaiting(root) {
  const r = await getAll("intake", "/conversations", { awaiting: "true", ...scopeParams() });
  if (!r.ok) return failed(root, r);
  const received = Date.now();
  const rows = r.data.items.map((c) =>
    h(
      "tr",
      { test: "conversation-row", dataset: { id: c.conversation_id } },
      h("td", { test: "channel" }, t("channel." + c.channel)),
      h("td", {}, c.customer_name || c.customer_id || "—"),
      h("td", {}, t("lang." + c.language)),
      h("td", {}, c.intent ? t("intent." + c.intent) : "—"),
      h("td", { class: "text" }, h("strong", {}, c.subject || ""), " ", c.text || ""),
      h("td", {
        test: "waiting", class: "clock",
        dataset: { since: c.awaiting_since ? Date.parse(c.awaiting_since) : received - (c.waiting_seconds || 0) * 1000 },
      }),
      h("td", { test: "assignee" }, c.assignee || t("unassigned")),
      h(
        "td",
        { class: "actions" },
        button("assign_to_me", "assign-me", () => assignConversation(c.conversation_id, state.me.principal)),
        h("input", { test: "assign-agent", placeholder: t("agent_id"), "data-i18n-placeholder": "agent_id", size: 10 }),
        button("assign", "assign-to", (ev) => {
          const agent = ev.target.parentElement.querySelector("[data-test=assign-agent]").value.trim();
          if (agent) assignConversation(c.conversation_id, agent);
        }),
      ),
    ),
  );
  markNew("awaiting", rows);
  badge("awaiting", rows.length);
  root.replaceChildren(
    table(
      "awaiting-list",
      ["col.channel", "col.customer", "col.language", "col.intent", "col.message", "col.waiting", "col.assignee", ""],
      rows,
    ),
  );
}

async function assignConversation(conversationId, agentId) {
  const r = await command(
    "intake", "conversation.assign", { conversation_id: conversationId, agent_id: agentId }, state.me.principal,
  );
  if (outcome(r, "assigned")) refresh();
}

// -- Call-backs ---------------------------------------------------------------------------------
async function callbacks(root) {
  const r = await getAll("intake", "/callbacks", { status: "open", ...scopeParams() });
  if (!r.ok) return failed(root, r);
  const rows = r.data.items.map((c) =>
    h(
      "tr",
      { test: "callback-row", dataset: { id: c.callback_id } },
      h("td", { test: "phone" }, c.phone || "—"),
      h("td", {}, c.customer_name || c.customer_id || "—"),
      h("td", {}, fmtTime(c.missed_at)),
      h("td", { test: "attempts" }, String(c.attempts)),
      h("td", {}, c.last_outcome ? t("outcome." + c.last_outcome) : "—", c.last_note ? ` · ${c.last_note}` : ""),
      h("td", {}, c.assignee || t("unassigned")),
      h(
        "td",
        { class: "actions" },
        select("callback-outcome", OUTCOMES, "outcome."),
        h("input", { test: "callback-note", placeholder: t("note"), "data-i18n-placeholder": "note", size: 16 }),
        button("record", "callback-record", (ev) => {
          const cell = ev.target.parentElement;
          recordCallback(
            c.callback_id,
            cell.querySelector("[data-test=callback-outcome]").value,
            cell.querySelector("[data-test=callback-note]").value.trim(),
          );
        }),
        button("assign_to_me", "callback-assign-me", async () => {
          const res = await command(
            "intake", "callback.assign", { callback_id: c.callback_id, agent_id: state.me.principal }, state.me.principal,
          );
          if (outcome(res, "assigned")) refresh();
        }),
      ),
    ),
  );
  markNew("callbacks", rows);
  badge("callbacks", rows.length);
  root.replaceChildren(
    table(
      "callback-list",
      ["col.phone", "col.customer", "col.missed_at", "col.attempts", "col.last_outcome", "col.assignee", ""],
      rows,
    ),
  );
}

async function recordCallback(callbackId, result, note) {
  const r = await command(
    "intake", "callback.record", { callback_id: callbackId, outcome: result, note: note || null }, state.me.principal,
  );
  if (outcome(r, "recorded")) refresh();
}

// -- Incomplete booking requests ----------------------------------------------------------------
async function incomplete(root) {
  const r = await getAll("intake", "/inquiries", { incomplete: "true" });
  if (!r.ok) return failed(root, r);
  const rows = r.data.items.map((q) =>
    h(
      "tr",
      { test: "inquiry-row", dataset: { id: q.inquiry_id } },
      h("td", {}, t("channel." + q.channel)),
      h("td", {}, q.customer_name || q.customer_id || "—"),
      h("td", {}, fmtTime(q.received_at)),
      h("td", { class: "text" }, q.text || q.subject || ""),
      h("td", { test: "missing" }, (q.missing || []).map((m) => t("field." + m)).join(", ")),
      h("td", {}, button("complete", "inquiry-complete-open", () => openCompletion(q))),
    ),
  );
  markNew("incomplete", rows);
  badge("incomplete", rows.length);
  const form = state.completing ? completionForm(state.completing) : null;
  root.replaceChildren(
    table(
      "inquiry-list",
      ["col.channel", "col.customer", "col.received", "col.message", "col.missing", ""],
      rows,
    ),
    form || "",
  );
}

function openCompletion(inquiry) {
  state.completing = inquiry;
  const old = $("[data-test=complete-form]");
  const form = completionForm(inquiry);
  if (old) old.replaceWith(form);
  else $("[data-test=view-incomplete] .body").append(form);
  form.scrollIntoView();
}

function completionForm(q) {
  const draft = q.draft || {};
  const missing = new Set(q.missing || []);
  const start = draft.start ? zonedParts(new Date(draft.start)) : null;
  const end = draft.end ? zonedParts(new Date(draft.end)) : null;
  const field = (name, input) => {
    input.dataset.test = "complete-" + name;
    const flag = (name === "date" && missing.has("date")) || (["start", "end"].includes(name) && missing.has("time"))
      || (name === "attendees" && missing.has("attendees"));
    if (flag) input.classList.add("missing");
    return label("field." + name, input);
  };
  const rooms = h("select", {}, h("option", { value: "" }, t("any_room")));
  get("booking", "/rooms").then((r) => {
    if (!r.ok) return;
    for (const room of r.data.filter((x) => x.active)) {
      rooms.append(h("option", { value: room.room_id, selected: room.room_id === draft.room_id }, `${room.name} (${room.capacity})`));
    }
  });
  const equipment = h(
    "fieldset",
    { test: "complete-equipment" },
    h("legend", { i18n: "field.equipment" }),
    EQUIPMENT.map((e) =>
      h("label", { class: "check" },
        h("input", { type: "checkbox", value: e, test: "complete-equipment-" + e, checked: (draft.equipment || []).includes(e) }),
        h("span", { i18n: "equipment." + e })),
    ),
  );
  const form = h(
    "form",
    { test: "complete-form", class: "card", dataset: { id: q.inquiry_id } },
    h("h3", { i18n: "complete_title" }),
    h("p", { class: "text" }, q.text || ""),
    field("name", h("input", { value: draft.name || q.subject || t("meeting"), required: true })),
    field("date", h("input", { type: "date", value: draft.date || (start && start.date) || "", required: true })),
    field("start", h("input", { type: "time", value: (start && start.time) || "", required: true })),
    field("end", h("input", { type: "time", value: (end && end.time) || "", required: true })),
    field("attendees", h("input", { type: "number", min: 1, value: draft.attendees || "", required: true })),
    field("room", rooms),
    equipment,
    field("catering", h("input", { value: draft.catering || "" })),
    field("notes", h("textarea", {}, draft.notes || "")),
    h("label", { class: "check" }, h("input", { type: "checkbox", test: "complete-wait" }), h("span", { i18n: "wait_if_taken" })),
    h("div", { class: "actions" },
      h("button", { type: "submit", i18n: "send_booking", test: "complete-submit" }),
      button("close", "complete-cancel", () => {
        state.completing = null;
        form.remove();
      })),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (name) => form.querySelector(`[data-test=complete-${name}]`).value.trim();
    const meeting = {
      ...Object.fromEntries(Object.entries(draft).filter(([k]) => k !== "date")),
      name: v("name"),
      start: zonedISO(v("date"), v("start")),
      end: zonedISO(v("date"), v("end")),
      attendees: Number(v("attendees")),
      room_id: v("room") || null,
      equipment: [...form.querySelectorAll("[data-test=complete-equipment] input:checked")].map((i) => i.value),
      catering: v("catering") || null,
      notes: v("notes") || null,
    };
    const r = await command(
      "intake",
      "inquiry.complete",
      { inquiry_id: q.inquiry_id, meeting, wait_if_taken: form.querySelector("[data-test=complete-wait]").checked },
      state.me.principal,
    );
    if (outcome(r, "sent_to_booking")) {
      state.completing = null;
      form.remove();
      refresh();
    }
  });
  return form;
}

// -- Cancellation messages, beside the customer's bookings ---------------------------------------
async function cancellations(root) {
  const r = await get("intake", "/inquiries", { intent: "cancellation", limit: 30 });
  if (!r.ok) return failed(root, r);
  const cards = await Promise.all(
    r.data.items.map(async (q) => {
      const b = q.customer_id
        ? await get("booking", "/bookings", { customer_id: q.customer_id, status: "confirmed", from: new Date().toISOString() })
        : { ok: true, data: { items: [] } };
      const bookings = b.ok ? b.data.items : [];
      return h(
        "div",
        { class: "card", test: "cancellation-row", dataset: { id: q.inquiry_id } },
        h("div", { class: "meta" }, t("channel." + q.channel), " · ", q.customer_name || q.customer_id || "—", " · ",
          fmtTime(q.received_at)),
        h("p", { class: "text" }, q.text || q.subject || ""),
        h("div", { test: "customer-bookings" },
          bookings.length
            ? bookings.map((bk) => bookingLine(bk, "booking-option", [
              button("cancel_this", "cancel-booking", () => cancelBooking(bk.booking_id, q.text)),
            ]))
            : h("p", { class: "empty", i18n: "no_bookings" })),
      );
    }),
  );
  markNew("cancellations", cards);
  root.replaceChildren(cards.length ? h("div", { test: "cancellation-list" }, cards) : h("p", { class: "empty", i18n: "empty" }));
}

function bookingLine(b, test, actions = []) {
  return h(
    "div",
    { class: "booking", test, dataset: { id: b.booking_id, status: b.status } },
    h("span", { class: "when" }, `${fmtTime(b.start)}–${fmtTime(b.end, false)}`),
    h("span", {}, ` ${b.room_id} · ${b.name || ""} · ${b.attendees} · `),
    h("span", { test: "booking-status" }, t("booking_status." + b.status)),
    " ",
    actions,
  );
}

async function cancelBooking(bookingId, reason) {
  const r = await command(
    "booking", "booking.cancel", { booking_id: bookingId, reason: (reason || "").slice(0, 400) || null },
    state.me.principal,
  );
  if (outcome(r, "cancelled")) refresh();
}

// a confirmed booking moved to another time (same room unless booking finds it another)
function rescheduleControls(b) {
  const start = zonedParts(new Date(b.start));
  const end = zonedParts(new Date(b.end));
  const day = h("input", { type: "date", test: "reschedule-date", value: start.date });
  const from = h("input", { type: "time", test: "reschedule-start", value: start.time });
  const to = h("input", { type: "time", test: "reschedule-end", value: end.time });
  const box = h("span", { class: "actions", hidden: true, test: "reschedule-form" }, day, from, to,
    button("reschedule_confirm", "booking-reschedule-submit", async () => {
      const r = await command("booking", "booking.reschedule", {
        booking_id: b.booking_id, start: zonedISO(day.value, from.value), end: zonedISO(day.value, to.value),
      }, state.me.principal);
      if (outcome(r, "rescheduled")) refresh();
    }));
  return [button("reschedule", "booking-reschedule", () => { box.hidden = !box.hidden; }), box];
}

// -- Complaints: due soon and overdue, with their clocks; the steps ---------------------------------
async function complaints(root) {
  const within = $("[data-test=due-within]") ? $("[data-test=due-within]").value : "240";
  const scope = scopeParams();
  if (scope.assignee === "none") delete scope.assignee; // complaints has no "unassigned" filter
  const [soon, late] = await Promise.all([
    get("complaints", "/complaints", { due_within: within, limit: 500, ...scope }),
    get("complaints", "/complaints", { overdue: "true", limit: 500, ...scope }),
  ]);
  if (!soon.ok) return failed(root, soon);
  if (!late.ok) return failed(root, late);
  const row = (c) =>
    h(
      "tr",
      { test: "complaint-row", dataset: { id: c.complaint_id, status: c.status }, class: c.overdue ? "overdue" : "" },
      h("td", {}, t("severity." + c.severity)),
      h("td", {}, t("category." + c.category)),
      h("td", { test: "complaint-status" }, t("complaint_status." + c.status)),
      h("td", {}, c.agent_id || t("unassigned")),
      h("td", { class: "text" }, (c.description || c.text || "").slice(0, 160)),
      h("td", { test: "complaint-clock", class: "clock", dataset: c.due_at ? { due: Date.parse(c.due_at) } : {} }, c.due_at ? "" : "—"),
      h("td", {}, button("open", "complaint-open", () => openComplaint(c.complaint_id))),
    );
  const heads = ["col.severity", "col.category", "col.status", "col.assignee", "col.message", "col.due", ""];
  const lateIds = new Set(late.data.map((c) => c.complaint_id));
  const soonRows = soon.data.filter((c) => !lateIds.has(c.complaint_id)).map(row);
  const lateRows = late.data.map(row);
  markNew("complaints", [...soonRows, ...lateRows]);
  badge("complaints", soonRows.length + lateRows.length);
  const detail = h("div", { test: "complaint-detail-slot" });
  root.replaceChildren(
    h("h3", { i18n: "overdue" }),
    table("complaints-overdue", heads, lateRows),
    h("h3", { i18n: "due_soon" }),
    table("complaints-due-soon", heads, soonRows),
    detail,
  );
  if (state.complaintId) renderComplaint(detail, state.complaintId);
}

function openComplaint(id) {
  state.complaintId = id;
  renderComplaint($("[data-test=complaint-detail-slot]"), id);
}

async function renderComplaint(slot, id) {
  const r = await get("complaints", `/complaints/${encodeURIComponent(id)}`);
  if (!r.ok) return failed(slot, r);
  const c = r.data;
  const note = h("textarea", { test: "complaint-note", placeholder: t("note"), "data-i18n-placeholder": "note", rows: 2 });
  const agent = h("input", { test: "complaint-agent", placeholder: t("agent_id"), "data-i18n-placeholder": "agent_id", value: state.me.principal });
  const rootCause = select("complaint-root-cause", ["", ...ROOT_CAUSES], "root_cause.");
  const remedy = select("complaint-remedy", REMEDIES, "remedy.");
  const owner = h("input", { test: "complaint-owner", placeholder: t("owner"), "data-i18n-placeholder": "owner", value: state.me.principal });
  const tomorrow = zonedParts(new Date(Date.now() + 86_400_000)).date;
  const dueDay = h("input", { type: "date", test: "complaint-action-date", value: tomorrow });
  const dueTime = h("input", { type: "time", test: "complaint-action-time", value: "18:00" });
  const actionText = h("input", { test: "complaint-action-description", placeholder: t("action_description"), "data-i18n-placeholder": "action_description" });
  const plannedAction = () => ({
    remedy: remedy.value, owner: owner.value.trim(), due_at: zonedISO(dueDay.value, dueTime.value),
    description: actionText.value.trim() || null,
  });
  // a closed complaint written up for the case library (complaint.record_case; again: rewritten)
  const caseFields = Object.fromEntries(CASE_FIELDS.map((f) =>
    [f, h("textarea", { test: "case-" + f, rows: 2, placeholder: t("case." + f), "data-i18n-placeholder": "case." + f })]));
  const resolution = h("input", { test: "complaint-resolution", placeholder: t("resolution"), "data-i18n-placeholder": "resolution" });
  const question = h("input", { test: "complaint-question", placeholder: t("question"), "data-i18n-placeholder": "question" });
  const score = select("complaint-score", ["", "1", "2", "3", "4", "5"], "score.");
  const override = h("input", { test: "complaint-override-reason", placeholder: t("override_reason"), "data-i18n-placeholder": "override_reason" });
  const supervisor = state.me.role !== "agent";
  const step = (name, key, fields, test) =>
    button(key, test || "complaint-step-" + name, async () => {
      const body = { complaint_id: c.complaint_id, note: note.value.trim() || null, ...(fields ? fields() : {}) };
      const res = await command("complaints", "complaint." + name, body, state.me.principal);
      if (outcome(res)) {
        note.value = "";
        refresh();
      }
    });
  slot.replaceChildren(
    h(
      "div",
      { class: "card", test: "complaint-detail", dataset: { id: c.complaint_id, status: c.status } },
      h("h3", {}, t("complaint"), " · ", t("complaint_status." + c.status)),
      h("p", { class: "meta" },
        t("severity." + c.severity), " · ", t("category." + c.category), " · ", c.agent_id || t("unassigned"),
        " · ", t("col.due"), ": ", c.due_at ? fmtTime(c.due_at) : "—"),
      h("p", { class: "text" }, c.description || c.text || ""),
      h("div", { class: "steps" },
        note,
        h("div", { class: "actions" },
          step("acknowledge", "step.acknowledge"),
          step("note", "step.note"),
          step("start_execution", "step.start_execution"),
          step("withdraw", "step.withdraw")),
        h("div", { class: "actions" }, agent, step("assign", "step.assign", () => ({ agent_id: agent.value.trim() }))),
        h("div", { class: "actions" }, rootCause,
          step("investigate", "step.investigate", () => (rootCause.value ? { root_cause: rootCause.value } : {}))),
        h("div", { class: "actions", test: "complaint-plan-form" }, remedy, owner, dueDay, dueTime, actionText,
          step("propose_solution", "step.propose_solution", () => ({ actions: [plannedAction()] })),
          // the plan revised (proposed or in progress): this action added; an action dropped below
          step("plan", "step.plan_add", () => ({ actions: [plannedAction()] }))),
        h("div", { class: "actions" }, resolution,
          step("resolve", "step.resolve", () => ({ resolution: resolution.value.trim() || null })),
          step("close", "step.close")),
        h("div", { class: "actions" }, question,
          step("await_customer", "step.await_customer", () => ({ question: question.value.trim() || null }))),
        h("div", { class: "actions" }, score,
          step("confirm_satisfaction", "step.confirm_satisfaction", () => (score.value ? { score: Number(score.value) } : {})),
          step("plan_agreement", "step.plan_agreed", () => ({ agreed: true })),
          step("reopen", "step.reopen", () => ({ reason: note.value.trim() || null }))),
        supervisor ? h("div", { class: "actions" }, override,
          step("close", "step.close_override", () => ({ override_reason: override.value.trim() }), "complaint-step-close-override")) : "",
        c.status === "closed" ? h("div", { class: "card", test: "complaint-case" },
          h("h4", { i18n: "case_title" }),
          CASE_FIELDS.map((f) => label("case." + f, caseFields[f])),
          step("record_case", "step.record_case_submit", () => ({
            case: Object.fromEntries(CASE_FIELDS.map((f) => [f, caseFields[f].value.trim()])),
          }))) : "",
      ),
      (c.actions || []).length ? h("ul", { test: "complaint-actions" }, c.actions.map((a) =>
        h("li", { test: "complaint-action", dataset: { id: a.action_id || "", state: a.done_at ? "done" : a.dropped_at ? "dropped" : "open" } },
          `${a.action_id || ""} · ${t("remedy." + a.remedy)} · ${a.owner} · ${fmtTime(a.due_at)}`,
          a.description ? ` · ${a.description}` : "",
          a.done_at ? ` · ${t("done")} ${fmtTime(a.done_at)}` : a.dropped_at ? ` · ${t("dropped")} ${fmtTime(a.dropped_at)}` : [" ",
            step("action_done", "step.action_done", () => ({ action_id: a.action_id }), "complaint-action-done"),
            step("plan", "step.plan_drop", () => ({ drop: [a.action_id] }), "complaint-action-drop")]))) : "",
      h("ol", { class: "history", test: "complaint-history" },
        (c.history || []).map((e) => h("li", {}, fmtTime(e.at || e.recorded_at), " · ", t("step." + String(e.action || e.transition || "").replace(/^complaint\./, "")),
          e.actor ? ` · ${e.actor}` : "", e.note ? ` · ${e.note}` : ""))),
    ),
  );
}

// -- Bookings: today's, a room's day, the waitlist's offers ---------------------------------------
async function bookings(root) {
  const day = state.room ? state.room.date : today();
  const [list, rooms, waitlist, rejected] = await Promise.all([
    get("booking", "/bookings", { date: today(), limit: 200 }),
    get("booking", "/rooms"),
    get("booking", "/waitlist"),
    get("booking", "/requests", { outcome: "rejected", limit: 30 }),
  ]);
  if (!list.ok) return failed(root, list);
  const rows = list.data.items.map((b) => bookingLine(b, "booking-row", b.status === "confirmed" ? [
    button("cancel", "booking-cancel", () => cancelBooking(b.booking_id, null)),
    ...rescheduleControls(b),
  ] : []));
  markNew("bookings", rows);
  const roomSelect = h("select", { test: "room-select", "data-live": "true" },
    (rooms.ok ? rooms.data : []).map((r) => h("option", { value: r.room_id, selected: state.room && state.room.id === r.room_id }, `${r.name} · ${r.room_id}`)));
  const dateInput = h("input", { type: "date", test: "room-date", value: day, "data-live": "true" });
  const dayView = h("div", { test: "room-day" });
  const showDay = async () => {
    state.room = { id: roomSelect.value, date: dateInput.value };
    if (!roomSelect.value) return;
    const r = await get("booking", `/rooms/${encodeURIComponent(roomSelect.value)}/day`, { date: dateInput.value });
    if (!r.ok) return failed(dayView, r);
    const items = [
      ...r.data.bookings.map((b) => ({ start: b.start, end: b.end, el: bookingLine(b, "room-day-booking") })),
      ...r.data.free.map((f) => ({
        start: f.start, end: f.end,
        el: h("div", { class: "free", test: "room-day-free" }, `${fmtTime(f.start, false)}–${fmtTime(f.end, false)} `, t("free")),
      })),
    ].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    dayView.replaceChildren(h("p", { class: "meta" }, `${t("opens")} ${fmtTime(r.data.opens, false)} – ${fmtTime(r.data.closes, false)}`),
      ...items.map((i) => i.el));
  };
  roomSelect.addEventListener("change", showDay);
  dateInput.addEventListener("change", showDay);
  const offers = (waitlist.ok ? waitlist.data.items : []).map((w) =>
    h("tr", { test: "waitlist-row", dataset: { id: w.inquiry_id } },
      h("td", {}, String(w.position)),
      h("td", {}, w.customer_id || "—"),
      h("td", {}, w.waiting_for ? `${w.waiting_for.room_id} ${fmtTime(w.waiting_for.start)}` : "—"),
      h("td", {}, w.offer ? `${w.offer.room_id || ""} ${fmtTime(w.offer.start)} → ${fmtTime(w.offer.accept_by)}` : "—"),
      h("td", {}, w.offer ? button("accept_offer", "waitlist-accept", async () => {
        const r = await command("booking", "booking.waitlist_accept", { inquiry_id: w.inquiry_id }, state.me.principal);
        if (outcome(r)) refresh();
      }) : "")),
  );
  // requests booking could not take, with the alternatives it found: accept one for the customer
  const alternatives = (rejected.ok ? rejected.data.items : [])
    .filter((q) => q.alternatives.length && !q.accepted)
    .map((q) => h("div", { class: "card", test: "alternative-row", dataset: { id: q.inquiry_id } },
      h("div", { class: "meta" }, `${q.customer_id || "—"} · ${q.meeting && q.meeting.start ? fmtTime(q.meeting.start) : ""} · ${q.reason || ""}`),
      q.alternatives.map((a) => h("div", { class: "actions" }, `${a.room_id} ${fmtTime(a.start)}–${fmtTime(a.end, false)} `,
        button("accept_alternative", "alternative-accept", async () => {
          const r = await command("booking", "booking.accept_alternative",
            { inquiry_id: q.inquiry_id, room_id: a.room_id, start: a.start, end: a.end }, state.me.principal);
          if (outcome(r)) refresh();
        })))));
  root.replaceChildren(
    h("h3", { i18n: "today_bookings" }),
    rows.length ? h("div", { test: "bookings-today" }, rows) : h("p", { class: "empty", test: "bookings-today-empty", i18n: "empty" }),
    h("h3", { i18n: "room_day" }),
    h("div", { class: "actions" }, roomSelect, dateInput),
    dayView,
    h("h3", { i18n: "waitlist" }),
    table("waitlist", ["col.position", "col.customer", "col.waiting_for", "col.offer", ""], offers),
    h("h3", { i18n: "alternatives" }),
    alternatives.length ? h("div", { test: "alternatives" }, alternatives) : h("p", { class: "empty", i18n: "empty" }),
  );
  if (roomSelect.value) showDay();
}

// -- The customer file ----------------------------------------------------------------------------
async function customers(root) {
  if (!$("[data-test=customer-search]", root)) {
    const q = h("input", { test: "customer-search", type: "search", placeholder: t("search_customer"), "data-i18n-placeholder": "search_customer" });
    const results = h("div", { test: "customer-results" });
    const file = h("div", { test: "customer-file-slot" });
    const search = async () => {
      const r = await get("intake", "/customers", { q: q.value.trim(), limit: 20 });
      if (!r.ok) return failed(results, r);
      results.replaceChildren(
        r.data.items.length
          ? h("ul", { class: "results" }, r.data.items.map((c) =>
            h("li", { test: "customer-result", dataset: { id: c.customer_id } },
              h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); openCustomer(c.customer_id); } }, c.name || c.customer_id),
              " ", h("span", { class: "meta" }, (c.identities || []).map((i) => `${i.kind}: ${i.value}`).join(" · ")))))
          : h("p", { class: "empty", i18n: "empty" }),
      );
    };
    root.replaceChildren(
      h("form", { class: "actions", onsubmit: (ev) => { ev.preventDefault(); search(); } },
        q, h("button", { type: "submit", i18n: "search", test: "customer-search-submit" })),
      results,
      file,
    );
  }
  if (state.customerId) await renderCustomer(state.customerId);
}

async function openCustomer(id) {
  state.customerId = id;
  await renderCustomer(id);
}

async function renderCustomer(id) {
  const slot = $("[data-test=customer-file-slot]");
  const r = await get("intake", `/customers/${encodeURIComponent(id)}`);
  if (!r.ok) return failed(slot, r);
  const c = r.data;
  const ids = [c.customer_id, ...(c.linked || []).map((l) => l.customer_id)];
  const [bookingsAll, complaintsAll] = await Promise.all([
    Promise.all(ids.map((x) => get("booking", "/bookings", { customer_id: x, limit: 50 }))),
    Promise.all(ids.map((x) => get("complaints", "/complaints", { customer_id: x, status: "all", limit: 50 }))),
  ]);
  const bookingItems = bookingsAll.flatMap((b) => (b.ok ? b.data.items : []));
  const complaintItems = complaintsAll.flatMap((b) => (b.ok ? b.data : []));
  const other = h("input", { test: "link-other", placeholder: t("other_customer_id"), "data-i18n-placeholder": "other_customer_id" });
  const reason = h("input", { test: "link-reason", placeholder: t("reason"), "data-i18n-placeholder": "reason" });
  const section = (key, test, items) => h("section", { test }, h("h4", { i18n: key }), items.length ? items : h("p", { class: "empty", i18n: "empty" }));
  slot.replaceChildren(
    h("div", { class: "card", test: "customer-file", dataset: { id: c.customer_id } },
      h("h3", {}, c.name || c.customer_id, " ", h("span", { class: "meta" }, c.customer_id)),
      section("identities", "customer-identities", (c.identities || []).map((i) => h("div", {}, `${t("identity." + i.kind)}: ${i.value}`))),
      bookPanel(c),
      section("linked", "customer-linked", (c.linked || []).map((l) => {
        const why = h("input", { test: "unlink-reason", placeholder: t("reason"), "data-i18n-placeholder": "reason" });
        return h("div", { test: "linked-row", dataset: { id: l.customer_id } },
          h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); openCustomer(l.customer_id); } }, l.name || l.customer_id),
          ` · ${l.reason || ""} · ${l.by || ""} · ${fmtTime(l.at)} `, why,
          button("unlink", "unlink-submit", async () => {
            if (!why.value.trim()) return status(t("reason_required"), "error");
            const res = await command("intake", "customer.unlink",
              { customer_id: c.customer_id, other_customer_id: l.customer_id, reason: why.value.trim() }, state.me.principal);
            if (outcome(res, "unlinked")) renderCustomer(c.customer_id);
          }));
      })),
      h("div", { class: "actions", test: "link-form" }, other, reason,
        button("link", "link-submit", async () => {
          if (!other.value.trim() || !reason.value.trim()) return status(t("reason_required"), "error");
          const res = await command("intake", "customer.link",
            { customer_id: c.customer_id, other_customer_id: other.value.trim(), reason: reason.value.trim() }, state.me.principal);
          if (outcome(res, "linked_done")) renderCustomer(c.customer_id);
        })),
      section("links_history", "links-history", (c.links_history || []).map((l) =>
        h("div", {}, `${fmtTime(l.at)} · ${t("link_action." + l.action)} · ${l.other_customer_id} · ${l.reason || ""} · ${l.by || ""}`))),
      section("conversations", "customer-conversations", (c.conversations || []).map((v) =>
        h("div", {}, `${t("channel." + v.channel)} · ${v.status || ""} · ${v.subject || ""} ${v.text || ""}`))),
      section("bookings", "customer-bookings", bookingItems.map((b) => bookingLine(b, "customer-booking",
        b.status === "confirmed" ? [button("cancel", "booking-cancel", () => cancelBooking(b.booking_id, null)), ...rescheduleControls(b)] : []))),
      section("complaints", "customer-complaints", complaintItems.map((x) =>
        h("div", { test: "customer-complaint" }, `${t("complaint_status." + x.status)} · ${t("category." + x.category)} · ${(x.description || "").slice(0, 120)}`))),
      section("feedback", "customer-feedback", (c.inquiries || []).filter((q) => q.intent === "feedback").map((q) =>
        h("div", {}, `${fmtTime(q.received_at)} · ${q.text || ""}`))),
      section("callbacks", "customer-callbacks", (c.callbacks || []).map((k) =>
        h("div", {}, `${fmtTime(k.missed_at)} · ${k.status} · ${k.last_outcome ? t("outcome." + k.last_outcome) : "—"}`))),
    ),
  );
}

// -- Book on the customer's behalf (customer.book): the form, availability, and booking's answer --------
// the panel is kept while the file is redrawn (the poll), so what the agent typed and the answer stay
function bookPanel(c) {
  if (state.bookPanel && state.bookPanel.customerId === c.customer_id) return state.bookPanel.el;
  const el = h("section", { test: "customer-book" },
    button("book_for_customer", "book-open", () => {
      const form = el.querySelector("[data-test=book-form]");
      form.hidden = !form.hidden;
    }),
    bookForm(c));
  state.bookPanel = { customerId: c.customer_id, el };
  return el;
}

function replyChannelSelect(c) {
  const channels = c.reply_channels || [];
  return h("select", { test: "book-reply-channel" },
    h("option", { value: "" }, channels.length ? `${t("reply_usual")} (${t("channel." + channels[0])})` : t("no_reply_route")),
    channels.map((ch) => h("option", { value: ch }, t("channel." + ch))));
}

function bookForm(c) {
  const tomorrow = zonedParts(new Date(Date.now() + 86_400_000)).date;
  const input = (name, attrs) => h("input", { test: "book-" + name, ...attrs });
  const rooms = h("select", { test: "book-room" }, h("option", { value: "" }, t("any_room")));
  get("booking", "/rooms").then((r) => {
    if (!r.ok) return;
    for (const room of r.data.filter((x) => x.active)) rooms.append(h("option", { value: room.room_id }, `${room.name} (${room.capacity})`));
  });
  const equipment = h("fieldset", { test: "book-equipment" }, h("legend", { i18n: "field.equipment" }),
    EQUIPMENT.map((e) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: e, test: "book-equipment-" + e }), h("span", { i18n: "equipment." + e }))));
  const availability = h("div", { test: "book-availability" });
  const result = h("div", { test: "book-result" });
  const form = h("form", { class: "card", test: "book-form", hidden: true, dataset: { id: c.customer_id } },
    h("h4", { i18n: "book_for_customer" }),
    label("field.name", input("name", { value: t("meeting"), required: true })),
    label("field.date", input("date", { type: "date", value: tomorrow, required: true })),
    label("field.start", input("start", { type: "time", value: "10:00", required: true })),
    label("field.end", input("end", { type: "time", value: "11:00", required: true })),
    label("field.attendees", input("attendees", { type: "number", min: 1, value: 2, required: true })),
    label("field.room", rooms),
    equipment,
    label("reply_on", replyChannelSelect(c)),
    h("label", { class: "check" }, h("input", { type: "checkbox", test: "book-wait" }), h("span", { i18n: "wait_if_taken" })),
    h("div", { class: "actions" },
      button("check_availability", "book-check", () => checkAvailability(form, availability)),
      h("button", { type: "submit", i18n: "send_booking", test: "book-submit" })),
    availability,
    result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const meeting = bookMeeting(form);
    const channel = form.querySelector("[data-test=book-reply-channel]").value;
    const r = await command("intake", "customer.book", {
      customer_id: c.customer_id, meeting, reply_channel: channel || null,
      wait_if_taken: form.querySelector("[data-test=book-wait]").checked,
    }, state.me.principal);
    if (!outcome(r, "sent_to_booking")) {
      result.replaceChildren(h("p", { class: "error", test: "book-refused" }, refusal(r)));
      return;
    }
    const requested = (r.data.events || []).find((e) => e.type === "booking.requested");
    if (!requested) return;
    for (const el of form.querySelectorAll("[data-dirty]")) delete el.dataset.dirty;
    awaitDecision(c.customer_id, requested.data, result);
  });
  return form;
}

function bookMeeting(form) {
  const v = (name) => form.querySelector(`[data-test=book-${name}]`).value.trim();
  return {
    name: v("name"),
    start: zonedISO(v("date"), v("start")),
    end: zonedISO(v("date"), v("end")),
    attendees: Number(v("attendees")),
    room_id: v("room") || null,
    equipment: [...form.querySelectorAll("[data-test=book-equipment] input:checked")].map((i) => i.value),
  };
}

// booking's GET /availability for what the form says: the free rooms (pick one) or the nearest alternatives
async function checkAvailability(form, box) {
  const m = bookMeeting(form);
  const r = await get("booking", "/availability", {
    start: m.start, end: m.end, attendees: m.attendees, equipment: m.equipment.join(","), room_id: m.room_id,
  });
  if (!r.ok) return failed(box, r);
  const pick = (roomId) => {
    form.querySelector("[data-test=book-room]").value = roomId;
  };
  box.replaceChildren(
    r.data.free_rooms.length
      ? h("div", { test: "book-free" }, h("span", { i18n: "free_rooms" }), ": ",
        r.data.free_rooms.map((id) => h("button", { type: "button", class: "chip", test: "book-free-room", dataset: { id }, onclick: () => pick(id) }, id)))
      : h("p", { class: "empty", i18n: "no_free_room" }),
    ...r.data.alternatives.map((a) => h("div", { test: "book-free-alternative" }, `${a.room_id} ${fmtTime(a.start)}–${fmtTime(a.end, false)}`)),
  );
}

// booking decides in a moment: its answer for this request (GET /requests), confirmed or rejected with
// the alternatives, any of which the agent accepts for the customer
async function awaitDecision(customerId, requested, box) {
  const inquiryId = requested.inquiry_id;
  const head = requested.reply_to ? "" : h("p", { class: "meta", test: "book-no-route", i18n: "no_reply_route_tell" });
  box.replaceChildren(head, h("p", { class: "meta", test: "book-pending", i18n: "book_pending" }));
  for (let i = 0; i < 40; i++) {
    const r = await get("booking", "/requests", { customer_id: customerId, limit: 50 });
    const found = r.ok ? r.data.items.find((x) => x.inquiry_id === inquiryId && x.outcome) : null;
    if (found) return showDecision(customerId, found, box, head);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  box.replaceChildren(head, h("p", { class: "meta", test: "book-pending", i18n: "book_not_yet" }));
}

// the file shows the new booking at once (the panel itself is kept)
function showBooked(customerId) {
  if (state.view === "customers" && state.customerId === customerId) renderCustomer(customerId);
}

function showDecision(customerId, q, box, head) {
  box.dataset.outcome = q.outcome;
  box.dataset.id = q.inquiry_id;
  if (q.outcome === "confirmed" || q.accepted) {
    const m = q.accepted || q.meeting || {};
    box.replaceChildren(head, h("p", { class: "ok", test: "book-confirmed" }, t("book_confirmed"),
      ` · ${m.room_id || ""} ${m.start ? fmtTime(m.start) : ""}`));
    showBooked(customerId);
    return;
  }
  box.replaceChildren(
    head,
    h("p", { class: "error", test: "book-rejected" }, t("book_rejected"), q.reason ? ` · ${q.reason}` : ""),
    q.waitlist ? h("p", { class: "meta" }, t("waitlist"), ` · ${q.waitlist}`) : "",
    ...q.alternatives.map((a) => h("div", { class: "actions", test: "book-alternative", dataset: { room: a.room_id, start: a.start } },
      `${a.room_id} ${fmtTime(a.start)}–${fmtTime(a.end, false)} `,
      button("accept_alternative", "book-alternative-accept", async () => {
        const r = await command("booking", "booking.accept_alternative",
          { inquiry_id: q.inquiry_id, room_id: a.room_id, start: a.start, end: a.end }, state.me.principal);
        if (outcome(r)) {
          box.dataset.outcome = "confirmed";
          box.replaceChildren(head, h("p", { class: "ok", test: "book-confirmed" }, t("book_confirmed"),
            ` · ${a.room_id} ${fmtTime(a.start)}`));
          showBooked(customerId);
        }
      }))),
  );
}

// -- Handover (supervisor): intake's desk and complaints' cases in one click ----------------------
async function handover(root) {
  if ($("[data-test=handover-form]", root)) return;
  const from = h("input", { test: "handover-from", required: true });
  const to = h("input", { test: "handover-to", required: true });
  const reason = h("input", { test: "handover-reason" });
  const result = h("div", { test: "handover-result" });
  const form = h("form", { class: "card", test: "handover-form" },
    label("from_agent", from), label("to_agent", to), label("reason", reason),
    h("button", { type: "submit", i18n: "hand_over", test: "handover-submit" }), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fields = { from_agent: from.value.trim(), to_agent: to.value.trim(), reason: reason.value.trim() || null };
    const [desk, cases] = await Promise.all([
      command("intake", "desk.handover", fields, state.me.principal),
      command("complaints", "complaint.handover", fields, state.me.principal),
    ]);
    const events = (r) => (r.ok && Array.isArray(r.data.events) ? r.data.events : []);
    const moved = events(desk).find((e) => e.type === "desk.handed_over");
    const complaintIds = new Set(events(cases).map((e) => e.data && e.data.complaint_id).filter(Boolean));
    const line = (key, r, detail) =>
      h("div", { dataset: { ok: String(r.ok) }, test: "handover-" + key }, t(key), ": ", r.ok ? `${t("done")} · ${detail}` : refusal(r));
    result.replaceChildren(
      line("desk", desk, moved ? `${t("conversations")} ${moved.data.conversations} · ${t("callbacks")} ${moved.data.callbacks}` : ""),
      line("complaints", cases, `${t("complaints")} ${complaintIds.size}`),
    );
    // complaints refuses when the agent has no open complaint: the desk's part still counts as done
    if (desk.ok) status(t("handed_over"), cases.ok || cases.status === 409 ? "ok" : "error");
    else status(t("refused") + ": " + refusal(desk), "error");
  });
  root.replaceChildren(form);
}

// -- KPIs (supervisor): the metrics dashboard, and today's headline figures --------------------------
async function kpis(root) {
  const link = h("a", { test: "kpis-link", href: `api/metrics/dashboard#token=${encodeURIComponent(token())}`, target: "_blank", rel: "noopener", i18n: "open_dashboard" });
  const r = await get("metrics", "/kpis", { period: "today" });
  const summary = h("dl", { test: "kpis-summary", class: "kpis" });
  if (r.ok) {
    for (const key of KPI_FIGURES) {
      const value = key.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), r.data.totals || {});
      if (typeof value !== "number") continue;
      summary.append(h("dt", { i18n: "kpi." + key }), h("dd", { dataset: { kpi: key } }, String(Math.round(value * 100) / 100)));
    }
  } else summary.append(h("dd", { class: "error" }, refusal(r)));
  root.replaceChildren(h("p", {}, link), summary);
}

const RENDER = { awaiting, callbacks, incomplete, cancellations, complaints, bookings, customers, handover, kpis };

// -- the frame: sign-in, navigation, polling ------------------------------------------------------
async function refresh() {
  if (!state.me) return;
  const root = $(`[data-test=view-${state.view}] .body`);
  document.body.dataset.loaded = ""; // set again once this view is drawn (tests wait for it)
  try {
    await RENDER[state.view](root);
  } catch (err) {
    status(String(err), "error");
  }
  tick();
  document.body.dataset.loaded = state.view;
}

// the poll leaves the view alone while someone types or picks in it (a note, an outcome, a form):
// redrawing would lose what they entered; acting on it redraws at once
const TYPING_GRACE_MS = 60_000;
function typing() {
  const view = $(`[data-test=view-${state.view}]`);
  const active = document.activeElement;
  if (active && view.contains(active) && !active.dataset.live && active.closest(".body")
    && ["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)) return true;
  const now = Date.now();
  return [...view.querySelectorAll("[data-dirty]")].some((el) => now - Number(el.dataset.dirty) < TYPING_GRACE_MS);
}

function poll() {
  if (!typing()) refresh();
}

function show(view) {
  if (SUPERVISOR_ONLY.has(view) && state.me.role === "agent") view = "awaiting";
  state.view = view;
  for (const v of VIEWS) {
    $(`[data-test=view-${v}]`).hidden = v !== view;
    $(`[data-test=nav-${v}]`).classList.toggle("active", v === view);
  }
  location.hash = view;
  refresh();
}

async function signIn(value) {
  setToken(value);
  const r = await whoAmI();
  if (!r.ok) {
    setToken("");
    $("[data-test=signin-error]").textContent = r.status === 401 ? t("signin_unknown") : refusal(r);
    return false;
  }
  state.me = r.data;
  state.seen = {};
  setPageSize(r.data.page_size);
  ({
    equipment: EQUIPMENT, callback_outcomes: OUTCOMES, remedies: REMEDIES, root_causes: ROOT_CAUSES,
    case_fields: CASE_FIELDS,
  } = r.data.vocabulary);
  $("[data-test=signin]").hidden = true;
  $("[data-test=app]").hidden = false;
  $("[data-test=me]").textContent = r.data.principal;
  $("[data-test=me-role]").textContent = t("role." + r.data.role);
  $("[data-test=me-role]").dataset.i18n = "role." + r.data.role;
  const supervisor = r.data.role !== "agent";
  document.body.dataset.role = r.data.role;
  for (const v of SUPERVISOR_ONLY) $(`[data-test=nav-${v}]`).hidden = !supervisor;
  $("[data-test=scope]").value = supervisor ? "all" : "mine";
  clearInterval(state.timer);
  state.timer = setInterval(poll, (r.data.poll_seconds || 5) * 1000);
  const wanted = location.hash.slice(1);
  show(VIEWS.includes(wanted) ? wanted : "awaiting");
  return true;
}

function signOut(messageKey) {
  setToken("");
  state.me = null;
  clearInterval(state.timer);
  $("[data-test=app]").hidden = true;
  $("[data-test=signin]").hidden = false;
  $("[data-test=signin-token]").value = "";
  $("[data-test=signin-error]").textContent = messageKey ? t(messageKey) : "";
  document.body.dataset.loaded = "";
}

function start() {
  const lang = $("[data-test=lang-select]");
  for (const code of LANGUAGES) lang.append(h("option", { value: code }, t("language_name", code)));
  lang.value = currentLanguage();
  lang.addEventListener("change", () => {
    setLanguage(lang.value);
    refresh();
  });
  translatePage();
  $("[data-test=signin-form]").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn($("[data-test=signin-token]").value.trim());
  });
  $("[data-test=sign-out]").addEventListener("click", () => signOut());
  for (const v of VIEWS) $(`[data-test=nav-${v}]`).addEventListener("click", () => show(v));
  $("[data-test=scope]").addEventListener("change", () => { state.seen = {}; refresh(); });
  $("[data-test=filter-agent]").addEventListener("change", () => { state.seen = {}; refresh(); });
  $("[data-test=due-within]").addEventListener("change", refresh);
  for (const kind of ["input", "change"]) {
    $("main").addEventListener(kind, (ev) => {
      if (ev.target.closest(".body") && !ev.target.dataset.live) ev.target.dataset.dirty = String(Date.now());
    });
  }
  whenUnauthorized(() => signOut("signin_expired"));
  setInterval(tick, 1000);
  document.body.dataset.ready = "true";
  if (token()) signIn(token());
}

start();
