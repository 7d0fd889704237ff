/*
 * Reference page for the 医保 knowledge API: renders a question page the way the
 * phone site shows it, from one request to GET /api/v1/articles/{id}?include=related,hot.
 *
 * URL parameters: api=<base URL of the API> (default http://127.0.0.1:8000) and one of
 * article=<id>, q=<search query> (optionally with topic=<slug>), topic=<slug>; none: the home list.
 *
 * Safety: only body_html (sanitised by the API) is inserted as HTML. Search highlights are
 * rebuilt node by node keeping nothing but text and <em>. Everything else goes in as text.
 */
(function () {
  "use strict";

  var DEFAULT_API = "http://127.0.0.1:8000";
  var DEFAULT_DISCLAIMER = "本内容不能代替面诊,如有不适请尽快就医。";
  var CARD_FIELDS = "id,title,summary,category,published_at";
  var PER_PAGE = 20;
  var SUGGEST_DELAY_MS = 250;
  var SUGGEST_LIMIT = 8;

  var startParams = new URLSearchParams(window.location.search);
  var API = (startParams.get("api") || DEFAULT_API).replace(/\/+$/, "");

  function $(id) {
    return document.getElementById(id);
  }

  // ---- DOM helpers: text only ------------------------------------------------------------

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === undefined || value === null || value === false) return;
        if (name === "text") node.textContent = String(value);
        else if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /* A highlight string from the API (HTML with <em>) as DOM: text and <em> survive, any other
     markup is reduced to its text. A <template> is inert: nothing in it loads or runs. */
  function highlighted(html, fallback) {
    var out = document.createDocumentFragment();
    if (typeof html !== "string" || !html) {
      out.appendChild(document.createTextNode(fallback || ""));
      return out;
    }
    var template = document.createElement("template");
    template.innerHTML = html;
    template.content.childNodes.forEach(function (node) {
      if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "EM") {
        out.appendChild(el("em", { text: node.textContent }));
      } else {
        out.appendChild(document.createTextNode(node.textContent || ""));
      }
    });
    return out;
  }

  // ---- the API ---------------------------------------------------------------------------

  function ApiError(status, title, detail, errors, requestId) {
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors || null;
    this.requestId = requestId || "";
    this.message = title + ": " + detail;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function apiUrl(path, query) {
    var url = new URL(API + path);
    Object.keys(query || {}).forEach(function (key) {
      var value = query[key];
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    });
    return url;
  }

  /* GET path?query as JSON; a non-2xx answer throws ApiError carrying the problem document. */
  function getJson(path, query, signal) {
    var url = apiUrl(path, query);
    return fetch(url, { headers: { Accept: "application/json" }, mode: "cors", credentials: "omit", signal: signal })
      .catch(function (err) {
        if (err && err.name === "AbortError") throw err;
        throw new ApiError(0, "无法连接到服务",
          "请求 " + url.origin + " 失败:请确认 API 服务已启动,并允许本页面所在的来源跨域访问(CORS)。");
      })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var body = type.indexOf("json") >= 0 ? response.json().catch(function () { return null; }) : Promise.resolve(null);
        return body.then(function (data) {
          if (response.ok) return data;
          var problem = data || {};
          throw new ApiError(response.status, problem.title || "HTTP " + response.status,
            problem.detail || response.statusText || "", problem.errors, problem.request_id);
        });
      });
  }

  // ---- routes: the page state lives in the URL -------------------------------------------

  function currentRoute() {
    var p = new URLSearchParams(window.location.search);
    if (p.get("article")) return { view: "article", id: p.get("article") };
    if (p.get("q") && p.get("q").trim()) return { view: "search", q: p.get("q").trim(), topic: p.get("topic") || "" };
    if (p.get("topic")) return { view: "topic", slug: p.get("topic") };
    return { view: "home" };
  }

  function hrefFor(route) {
    var p = new URLSearchParams();
    if (startParams.has("api")) p.set("api", API);
    if (route.view === "article") p.set("article", route.id);
    if (route.view === "search") {
      p.set("q", route.q);
      if (route.topic) p.set("topic", route.topic);
    }
    if (route.view === "topic") p.set("topic", route.slug);
    var query = p.toString();
    return query ? "?" + query : window.location.pathname;
  }

  function navigate(route) {
    window.history.pushState(null, "", hrefFor(route));
    render();
  }

  /* An <a> with a real href (new tab, copy link work) that navigates in place on a plain click. */
  function routeLink(route, attrs) {
    var a = el("a", Object.assign({ href: hrefFor(route) }, attrs || {}));
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child) a.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    a.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      navigate(route);
    });
    return a;
  }

  // ---- page states -----------------------------------------------------------------------

  function setState(state) {
    document.body.setAttribute("data-state", state);
    if (state === "loading") document.body.setAttribute("aria-busy", "true");
    else document.body.removeAttribute("aria-busy");
    show($("status"), state === "loading");
    if (state === "loading") $("status").textContent = "加载中…";
  }

  function friendlyTitle(status) {
    if (status === 0) return "无法连接到服务";
    if (status === 404) return "内容不存在";
    if (status === 400) return "请求有误";
    if (status === 401 || status === 403) return "没有权限";
    if (status === 429) return "请求太频繁,请稍后再试";
    if (status >= 500) return "服务暂时不可用";
    return "出错了";
  }

  function showError(err) {
    var status = err instanceof ApiError ? err.status : -1;
    $("error-title").textContent = status > 0 ? friendlyTitle(status) + "(" + status + " " + err.title + ")"
      : friendlyTitle(status === 0 ? 0 : 500);
    $("error-detail").textContent = err instanceof ApiError ? err.detail : "页面出现意外错误:" + (err && err.message);
    show($("error"), true);
    show($("article-view"), false);
    show($("list-view"), false);
    document.title = "出错了 - 医保知识";
    setState("error");
  }

  // ---- the article page ------------------------------------------------------------------

  var includeSupported = true;

  /* The whole page in one request; an API that does not know include= yet (400 naming it) gets
     the article alone, and the page leaves out 相关推荐 and 大家都在搜. */
  function fetchArticle(id, signal) {
    var path = "/api/v1/articles/" + encodeURIComponent(id);
    if (!includeSupported) return getJson(path, { formats: "html" }, signal);
    return getJson(path, { include: "related,hot", formats: "html" }, signal).catch(function (err) {
      if (err instanceof ApiError && err.status === 400 && err.errors && "include" in err.errors) {
        includeSupported = false;
        return getJson(path, { formats: "html" }, signal);
      }
      throw err;
    });
  }

  function formatDate(value) {
    return typeof value === "string" ? value.slice(0, 10) : "";
  }

  function card(item, highlights) {
    var h = highlights || {};
    return el("li", { className: "card-item" },
      routeLink({ view: "article", id: item.id }, { className: "card", "data-id": item.id },
        el("h3", { className: "card-title" }, highlighted(h.title, item.title)),
        el("p", { className: "card-summary" }, highlighted(h.summary, item.summary || "")),
        el("p", { className: "card-meta" },
          el("span", { className: "card-category", text: item.category || "健康新闻" }),
          el("time", { className: "card-date", datetime: formatDate(item.published_at), text: formatDate(item.published_at) }))));
  }

  function topicChip(topic, active) {
    return el("li", null, routeLink({ view: "topic", slug: topic.slug },
      { className: "chip" + (active ? " active" : ""), "data-slug": topic.slug }, topic.name || topic.slug));
  }

  function renderArticle(article) {
    document.title = article.title + " - 医保知识";
    $("article-view").setAttribute("data-id", article.id);
    $("article-title").textContent = article.title;

    var meta = $("article-meta");
    clear(meta);
    meta.appendChild(el("span", { className: "card-category", text: article.category || "健康新闻" }));
    if (article.published_at) {
      meta.appendChild(el("time", { datetime: formatDate(article.published_at), text: formatDate(article.published_at) }));
    }
    (article.regions || []).forEach(function (region) {
      meta.appendChild(el("span", { className: "region", text: region }));
    });

    $("article-answer").textContent = article.answer || "";
    show($("article-answer"), Boolean(article.answer));

    var body = $("article-body");
    if (typeof article.body_html === "string") {
      body.innerHTML = article.body_html; // sanitised by the API (Markdown without raw HTML, then nh3)
    } else {
      clear(body);
      body.appendChild(el("p", { className: "plain", text: article.body || "" }));
    }

    $("article-disclaimer").textContent = "提示:" + (article.disclaimer || DEFAULT_DISCLAIMER);

    var chips = $("article-topics");
    clear(chips);
    (article.topics || []).forEach(function (topic) {
      chips.appendChild(topicChip(topic));
    });
    show(chips, chips.childElementCount > 0);

    var hot = Array.isArray(article.hot) ? article.hot : [];
    var hotList = $("hot-list");
    clear(hotList);
    hot.forEach(function (entry) {
      var query = typeof entry === "string" ? entry : entry && entry.query;
      if (!query) return;
      hotList.appendChild(el("li", null, routeLink({ view: "search", q: query }, { className: "hot-entry" }, query)));
    });
    show($("hot"), hotList.childElementCount > 0);

    var related = Array.isArray(article.related) ? article.related : [];
    var relatedList = $("related-list");
    clear(relatedList);
    related.forEach(function (item) {
      if (item && item.id) relatedList.appendChild(card(item));
    });
    show($("related"), relatedList.childElementCount > 0);

    show($("list-view"), false);
    show($("article-view"), true);
  }

  // ---- lists: search results, a topic, the home page -------------------------------------

  var loadMore = null; // function () -> Promise, for the current list, or null

  function renderList(title, description, facets) {
    document.title = title + " - 医保知识";
    $("list-title").textContent = title;
    $("list-description").textContent = description || "";
    show($("list-description"), Boolean(description));
    var facetList = $("list-facets");
    clear(facetList);
    (facets || []).forEach(function (chip) {
      facetList.appendChild(chip);
    });
    show(facetList, facetList.childElementCount > 0);
    clear($("list-items"));
    show($("article-view"), false);
    show($("list-view"), true);
  }

  function appendCards(page, fetchPage) {
    var items = (page && page.items) || [];
    items.forEach(function (item) {
      $("list-items").appendChild(card(item, item.highlights));
    });
    var meta = (page && page.meta) || {};
    show($("list-empty"), $("list-items").childElementCount === 0);
    var more = meta.page && meta.pages && meta.page < meta.pages;
    show($("list-more"), Boolean(more));
    loadMore = more ? function () { return fetchPage(meta.page + 1).then(function (next) { appendCards(next, fetchPage); }); } : null;
  }

  function showSearch(route, signal) {
    function fetchPage(page) {
      return getJson("/api/v1/search", { q: route.q, topic: route.topic, page: page, per_page: PER_PAGE }, signal);
    }
    return fetchPage(1).then(function (page) {
      $("search-input").value = route.q;
      var facets = ((page.facets && page.facets.topics) || []).map(function (facet) {
        var active = facet.slug === route.topic;
        var target = { view: "search", q: route.q, topic: active ? "" : facet.slug };
        return el("li", null, routeLink(target, { className: "chip" + (active ? " active" : ""), "data-slug": facet.slug },
          (facet.name || facet.slug) + " " + (facet.count === undefined ? "" : facet.count)));
      });
      var total = page.meta && page.meta.total !== undefined ? page.meta.total : (page.items || []).length;
      renderList("搜索:" + route.q, "共 " + total + " 条结果", facets);
      appendCards(page, fetchPage);
    });
  }

  function showTopic(route, signal) {
    var path = "/api/v1/topics/" + encodeURIComponent(route.slug);
    function fetchPage(page) {
      return getJson(path + "/articles", { fields: CARD_FIELDS, page: page, per_page: PER_PAGE }, signal);
    }
    return Promise.all([getJson(path, null, signal), fetchPage(1)]).then(function (results) {
      var topic = results[0] || {};
      var count = results[1].meta && results[1].meta.total;
      var description = topic.description || "";
      if (count !== undefined) description = (description ? description + " · " : "") + "共 " + count + " 篇";
      renderList("话题:" + (topic.name || route.slug), description, []);
      appendCards(results[1], fetchPage);
    });
  }

  function showHome(signal) {
    function fetchPage(page) {
      return getJson("/api/v1/articles", { fields: CARD_FIELDS, page: page, per_page: PER_PAGE }, signal);
    }
    return Promise.all([getJson("/api/v1/topics", null, signal), fetchPage(1)]).then(function (results) {
      var chips = ((results[0] && results[0].items) || []).map(function (topic) {
        return topicChip(topic);
      });
      renderList("最新文章", "", chips);
      appendCards(results[1], fetchPage);
    });
  }

  // ---- rendering the current route -------------------------------------------------------

  var pending = null; // AbortController of the page request in flight

  function render() {
    if (pending) pending.abort();
    var controller = new AbortController();
    pending = controller;
    var route = currentRoute();
    hideSuggest();
    show($("error"), false);
    setState("loading");
    var work;
    if (route.view === "article") work = fetchArticle(route.id, controller.signal).then(renderArticle);
    else if (route.view === "search") work = showSearch(route, controller.signal);
    else if (route.view === "topic") work = showTopic(route, controller.signal);
    else work = showHome(controller.signal);
    return work.then(function () {
      if (pending !== controller) return;
      setState("ready");
      window.scrollTo(0, 0);
    }, function (err) {
      if (pending !== controller || (err && err.name === "AbortError")) return;
      showError(err);
    });
  }

  // ---- search box with suggestions -------------------------------------------------------

  var suggestTimer = null;
  var suggestController = null;
  var suggestAvailable = true;
  var activeOption = -1;

  function suggestOptions() {
    return Array.prototype.slice.call($("suggest-list").querySelectorAll("[role=option]"));
  }

  function hideSuggest() {
    clearTimeout(suggestTimer);
    if (suggestController) suggestController.abort();
    suggestController = null;
    clear($("suggest-list"));
    show($("suggest-list"), false);
    $("search-input").setAttribute("aria-expanded", "false");
    $("search-input").removeAttribute("aria-activedescendant");
    activeOption = -1;
  }

  function suggestionRoute(item) {
    if (item.id && item.kind !== "query") return { view: "article", id: item.id };
    return { view: "search", q: item.text };
  }

  function renderSuggestions(items) {
    var list = $("suggest-list");
    clear(list);
    activeOption = -1;
    items.forEach(function (raw, index) {
      var item = typeof raw === "string" ? { text: raw, kind: "query" } : raw || {};
      item.text = item.text || item.title || item.query || "";
      if (!item.text) return;
      var option = el("li", { role: "option", id: "suggest-" + index, className: "suggest-item", "aria-selected": "false",
        "data-kind": item.kind || "" },
        el("span", { className: "suggest-text", text: item.text }),
        el("span", { className: "suggest-kind", text: item.kind === "title" || item.id ? "文章" : "搜索" }));
      option.addEventListener("pointerdown", function (event) {
        event.preventDefault(); // keep focus in the input until the click lands
      });
      option.addEventListener("click", function () {
        hideSuggest();
        navigate(suggestionRoute(item));
      });
      option._route = suggestionRoute(item);
      list.appendChild(option);
    });
    var any = list.childElementCount > 0;
    show(list, any);
    $("search-input").setAttribute("aria-expanded", any ? "true" : "false");
  }

  function requestSuggestions() {
    var q = $("search-input").value.trim();
    if (!q || !suggestAvailable) {
      hideSuggest();
      return;
    }
    if (suggestController) suggestController.abort();
    var controller = new AbortController();
    suggestController = controller;
    getJson("/api/v1/search/suggest", { q: q, limit: SUGGEST_LIMIT }, controller.signal).then(function (data) {
      if (suggestController !== controller || $("search-input").value.trim() !== q) return;
      renderSuggestions((data && data.items) || []);
    }, function (err) {
      if (err && err.name === "AbortError") return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) suggestAvailable = false;
      if (suggestController === controller) hideSuggest();
    });
  }

  function moveActive(step) {
    var options = suggestOptions();
    if (!options.length) return;
    activeOption = (activeOption + step + options.length) % options.length;
    options.forEach(function (option, index) {
      option.setAttribute("aria-selected", index === activeOption ? "true" : "false");
    });
    $("search-input").setAttribute("aria-activedescendant", options[activeOption].id);
  }

  function initSearch() {
    var input = $("search-input");
    input.addEventListener("input", function () {
      clearTimeout(suggestTimer);
      suggestTimer = setTimeout(requestSuggestions, SUGGEST_DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        moveActive(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Escape") {
        hideSuggest();
      } else if (event.key === "Enter" && activeOption >= 0) {
        event.preventDefault();
        var route = suggestOptions()[activeOption]._route;
        hideSuggest();
        navigate(route);
      }
    });
    input.addEventListener("blur", function () {
      hideSuggest();
    });
    $("search-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var q = input.value.trim();
      hideSuggest();
      if (q) {
        input.blur();
        navigate({ view: "search", q: q });
      }
    });
  }

  // ---- start -----------------------------------------------------------------------------

  function init() {
    $("api-base").textContent = API;
    [$("brand"), $("nav-home")].forEach(function (link) {
      link.setAttribute("href", hrefFor({ view: "home" }));
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate({ view: "home" });
      });
    });
    $("nav-top").addEventListener("click", function (event) {
      event.preventDefault();
      window.scrollTo({ top: 0, behavior: "smooth" });
    });
    $("error-retry").addEventListener("click", render);
    $("list-more").addEventListener("click", function () {
      if (!loadMore) return;
      var button = $("list-more");
      button.disabled = true;
      loadMore().catch(showError).then(function () {
        button.disabled = false;
      });
    });
    window.addEventListener("popstate", render);
    initSearch();
    render();
  }

  init();
})();
