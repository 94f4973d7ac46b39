// abusewatch review page: a queue of cases and a case page over /api/v1/ (review_api.h).
// No framework, no external resources; every value from the server is inserted as text
// (textContent), never as HTML.
"use strict";

const I18N = {
  zh: {
    title: "合规审查", queue: "队列", logout: "退出", token: "访问令牌", signin: "登录",
    token_hint: "令牌只保存在本标签页（sessionStorage）。", status: "状态", decision: "结论",
    severity: "严重程度", rule: "规则", clause: "条款", account: "账户前缀", account_col: "账户",
    assignee: "负责人", from: "起", to: "止", both: "明知且情节严重", apply: "筛选",
    flags: "标记", updated: "更新时间", more: "更多", clauses: "条款", state: "状态",
    value: "数值 / 阈值", basis: "依据", explain: "说明", actions: "操作",
    start_review: "开始审查", approve: "复核通过", d_confirmed: "确认", d_false_positive: "误报",
    d_needs_information: "需补充信息", suppress_for: "抑制时长", suppress_rule: "抑制规则",
    reason: "理由（必填）", decide: "提交结论", reject: "退回", close: "结案",
    reopen: "重新打开", assign: "指派", comments: "评论", comment: "发表评论",
    suppressions: "抑制", until: "截止", by: "操作人", reason_col: "理由", timeline: "时间线",
    at: "时间", events: "事件", evidence: "证据", audit: "审计记录", action: "动作",
    lift: "解除", knowledge: "明知（第十一条）", serious: "情节严重（第十二条）",
    firing: "触发", resolved: "已解除", all: "全部", done: "已完成", reason_required: "请填写理由",
    truncated: "已截断", case_word: "案件", unassigned: "未指派", opened: "立案",
    lifted: "已解除",
  },
  en: {
    title: "Compliance review", queue: "Queue", logout: "Sign out", token: "Access token",
    signin: "Sign in", token_hint: "The token is kept in this tab only (sessionStorage).",
    status: "Status", decision: "Decision", severity: "Severity", rule: "Rule",
    clause: "Clause", account: "Account prefix", account_col: "Account", assignee: "Assignee",
    from: "From", to: "To", both: "Knowledge and serious", apply: "Filter", flags: "Flags",
    updated: "Updated", more: "More", clauses: "Clauses", state: "State",
    value: "Value / threshold", basis: "Basis", explain: "Explanation", actions: "Actions",
    start_review: "Start review", approve: "Approve", d_confirmed: "Confirmed",
    d_false_positive: "False positive", d_needs_information: "Needs information",
    suppress_for: "Suppress for", suppress_rule: "Suppress rule",
    reason: "Reason (required)", decide: "Decide", reject: "Reject", close: "Close",
    reopen: "Reopen", assign: "Assign", comments: "Comments", comment: "Comment",
    suppressions: "Suppressions", until: "Until", by: "By", reason_col: "Reason",
    timeline: "Timeline", at: "Time", events: "Events", evidence: "Evidence",
    audit: "Audit log", action: "Action", lift: "Lift", knowledge: "Knowledge (art. 11)",
    serious: "Serious (art. 12)", firing: "firing", resolved: "resolved", all: "all",
    done: "Done", reason_required: "A reason is required", truncated: "truncated",
    case_word: "Case", unassigned: "unassigned", opened: "opened", lifted: "lifted",
  },
};

const state = {
  lang: sessionStorage.getItem("aw_lang") || "zh",
  token: sessionStorage.getItem("aw_token") || "",
  cursor: "",
  caseId: 0,
};

const $ = (sel) => document.querySelector(sel);
const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || key;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? "" : String(c);
    tr.appendChild(td);
  }
  return tr;
}

function badges(c) {
  const span = el("span");
  if (c.knowledge) span.appendChild(el("span", t("knowledge"), "badge knowledge"));
  if (c.serious) span.appendChild(el("span", t("serious"), "badge serious"));
  return span;
}

function showMessage(text, ok) {
  const m = $("#msg");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
  m.hidden = !text;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch("/api/v1/" + path, init);
  if (res.status === 401) {
    state.token = "";
    sessionStorage.removeItem("aw_token");
    route();
  }
  const type = res.headers.get("Content-Type") || "";
  if (!res.ok) {
    let err = { error: String(res.status), message: res.statusText };
    if (type.startsWith("application/json")) err = await res.json();
    throw new ApiError(res.status, err.error, err.message);
  }
  return type.startsWith("application/json") ? res.json() : res.blob();
}

function translate() {
  document.documentElement.lang = state.lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("#lang").textContent = state.lang === "zh" ? "EN" : "中文";
  document.title = "abusewatch · " + t("title");
}

// ---- queue ----

function filterQuery() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("#filters"))) {
    if (value !== "") params.set(name, value);
  }
  return params;
}

async function loadQueue(append) {
  const params = filterQuery();
  if (append && state.cursor) params.set("cursor", state.cursor);
  const page = await api("GET", "cases?" + params.toString());
  const body = $("#cases tbody");
  if (!append) body.replaceChildren();
  for (const c of page.cases) {
    const link = el("a", c.id);
    link.href = "#/case/" + c.id;
    const tr = row([link, c.account, c.status, c.decision, c.severity, badges(c),
                    c.assignee || "—", c.updated_at]);
    tr.dataset.caseId = c.id;
    body.appendChild(tr);
  }
  state.cursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
  const counts = $("#counts");
  counts.replaceChildren();
  let total = 0;
  for (const [status, n] of Object.entries(page.counts)) {
    total += n;
    const chip = el("button", status + " " + n, "chip");
    chip.type = "button";
    chip.dataset.status = status;
    chip.addEventListener("click", () => {
      $("#filters").elements.status.value = status;
      loadQueue(false).catch(fail);
    });
    counts.appendChild(chip);
  }
  const all = el("button", t("all") + " " + total, "chip");
  all.type = "button";
  all.dataset.status = "";
  all.addEventListener("click", () => {
    $("#filters").elements.status.value = "";
    loadQueue(false).catch(fail);
  });
  counts.prepend(all);
}

// ---- case ----

async function loadCase(id) {
  const c = await api("GET", "cases/" + id);
  state.caseId = id;
  $("#case-title").textContent = t("case_word") + " #" + c.id + " · " + c.account;
  const summary = $("#case-summary");
  summary.replaceChildren(
      el("span", c.status, "status status-" + c.status),
      el("span", c.decision ? c.decision + " (" + c.decided_by + ": " + c.decision_reason + ")" : ""),
      el("span", t("assignee") + ": " + (c.assignee || t("unassigned"))),
      el("span", t("opened") + " " + c.opened_at), badges(c));
  summary.dataset.status = c.status;

  const clauses = $("#clauses tbody");
  clauses.replaceChildren();
  for (const k of c.clauses) {
    clauses.appendChild(row([k.rule, t(k.state), k.value + " / " + k.threshold, k.basis,
                             state.lang === "zh" ? k.explain_zh : k.explain_en]));
  }
  const timeline = $("#timeline tbody");
  timeline.replaceChildren();
  for (const e of c.timeline) {
    const tr = row([e.at, e.rule, t(e.state) + (e.suppressed ? " (suppressed)" : ""),
                    e.value + " / " + e.threshold, e.events.join(", ")]);
    timeline.appendChild(tr);
  }
  const evidence = $("#evidence");
  evidence.replaceChildren();
  for (const e of c.evidence) {
    const box = el("details");
    box.appendChild(el("summary", e.event_id + (e.truncated ? " (" + t("truncated") + ", " +
                                                e.original_bytes + " B)" : "")));
    box.appendChild(el("pre", e.raw));
    evidence.appendChild(box);
  }
  const comments = $("#comments");
  comments.replaceChildren();
  for (const m of c.comments) {
    const li = el("li");
    li.appendChild(el("strong", m.author));
    li.appendChild(el("span", " " + m.at + " ", "muted"));
    li.appendChild(el("p", m.body));
    comments.appendChild(li);
  }
  const sup = $("#suppressions tbody");
  sup.replaceChildren();
  for (const s of c.suppressions) {
    let cell = t("lifted") + " " + s.lifted_by;
    if (!s.lifted_at_ms) {
      cell = el("button", t("lift"));
      cell.type = "button";
      cell.addEventListener("click", () => liftSuppression(s.id));
    }
    sup.appendChild(row([s.id, s.rule, s.until, s.created_by, s.reason, cell]));
  }
  const audit = $("#audit tbody");
  audit.replaceChildren();
  for (const a of c.audit) {
    audit.appendChild(row([a.seq, a.at, a.actor + " (" + a.role + ")", a.action, a.reason]));
  }
}

async function act(action, body) {
  try {
    await api("POST", "cases/" + state.caseId + "/" + action, body);
    showMessage(t("done") + ": " + action, true);
  } catch (e) {
    fail(e);
  }
  await loadCase(state.caseId).catch(fail);
}

async function liftSuppression(id) {
  const reason = $("#reason-form").elements.reason.value.trim();
  if (!reason) return showMessage(t("reason_required"), false);
  try {
    await api("POST", "suppressions/" + id + "/lift", { reason });
    showMessage(t("done"), true);
  } catch (e) {
    fail(e);
  }
  await loadCase(state.caseId).catch(fail);
}

async function download(kind) {
  const blob = await api("GET", "cases/" + state.caseId + "/export." + kind);
  const data = kind === "json" ? new Blob([JSON.stringify(blob, null, 2)]) : blob;
  const a = el("a");
  a.href = URL.createObjectURL(data);
  a.download = "case-" + state.caseId + "." + kind;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- wiring ----

function fail(e) {
  showMessage((e.status ? e.status + " " : "") + (e.code ? e.code + ": " : "") + e.message, false);
}

function route() {
  const signedIn = !!state.token;
  $("#login").hidden = signedIn;
  $("#logout").hidden = !signedIn;
  const m = location.hash.match(/^#\/case\/(\d+)$/);
  $("#queue").hidden = !signedIn || !!m;
  $("#case").hidden = !signedIn || !m;
  if (!signedIn) return;
  if (m) loadCase(Number(m[1])).catch(fail); else loadQueue(false).catch(fail);
}

function init() {
  translate();
  $("#lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    sessionStorage.setItem("aw_lang", state.lang);
    translate();
    route();
  });
  $("#login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("#token").value.trim();
    sessionStorage.setItem("aw_token", state.token);
    $("#token").value = "";
    showMessage("", true);
    route();
  });
  $("#logout").addEventListener("click", () => {
    state.token = "";
    sessionStorage.removeItem("aw_token");
    route();
  });
  $("#filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadQueue(false).catch(fail);
  });
  $("#more").addEventListener("click", () => loadQueue(true).catch(fail));
  for (const b of document.querySelectorAll("[data-export]")) {
    b.addEventListener("click", () => download(b.dataset.export).catch(fail));
  }
  for (const b of document.querySelectorAll("#actions > button[data-action]")) {
    b.addEventListener("click", () => act(b.dataset.action));
  }
  $("#decide-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = { decision: f.decision.value, reason: f.reason.value.trim() };
    if (!body.reason) return showMessage(t("reason_required"), false);
    if (f.suppress_for.value.trim()) body.suppress_for = f.suppress_for.value.trim();
    if (f.suppress_rule.value.trim()) body.suppress_rule = f.suppress_rule.value.trim();
    f.reason.value = "";
    act("decide", body);
  });
  $("#reason-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reason = ev.target.elements.reason.value.trim();
    if (!reason) return showMessage(t("reason_required"), false);
    ev.target.elements.reason.value = "";
    act(ev.submitter.dataset.action, { reason });
  });
  $("#assign-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act("assign", { assignee: ev.target.elements.assignee.value.trim() });
  });
  $("#comment-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = ev.target.elements.body.value.trim();
    if (!body) return;
    ev.target.elements.body.value = "";
    act("comments", { body });
  });
  window.addEventListener("hashchange", () => {
    showMessage("", true);
    route();
  });
  route();
}

init();
