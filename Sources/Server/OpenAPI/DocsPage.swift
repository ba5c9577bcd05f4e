/// `/docs`: a page that lists every operation of `/openapi.json` by tag and
/// lets a person fill in its parameters and body, send it with their
/// credentials, and read the answer. Its HTML, style and script are in the
/// binary (no CDN, nothing fetched but `openapi.json` and the calls made).
enum DocsPage {
    static func html(version: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Socle \(version) API</title>
        <style>\(style)</style>
        </head>
        <body>
        <header>
        <h1>Socle \(version) API</h1>
        <p>Every operation this server serves, from <a href="openapi.json">openapi.json</a> (also <a href="openapi.yaml">YAML</a>).
        Open one, fill it in and send it: the request goes to this server with the credentials below.</p>
        <form id="credentials" autocomplete="off">
        <label>User <input id="user" name="user"></label>
        <label>Password <input id="password" name="password" type="password"></label>
        <label>Filter <input id="filter" name="filter" placeholder="path or summary"></label>
        </form>
        </header>
        <main id="operations"><p id="loading">Loading the API description…</p></main>
        <script>\(script)</script>
        </body>
        </html>
        """
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
        header{padding:1em 2em;background:#fff;border-bottom:1px solid #d0d7de}
        h1{margin:.2em 0;font-size:1.5em} h2{margin:1.4em 0 .3em;font-size:1.2em} main{padding:0 2em 3em}
        #credentials label{margin-right:1.2em} input,select,textarea{font:inherit;padding:2px 4px}
        details.op{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:.35em 0}
        details.op>summary{cursor:pointer;padding:.4em .6em;list-style:none}
        .method{display:inline-block;min-width:4.5em;font-weight:600;font-family:monospace}
        .get{color:#0969da}.post{color:#1a7f37}.put{color:#9a6700}.delete{color:#cf222e}.patch{color:#8250df}
        .path{font-family:monospace;margin-right:.8em} .summary{color:#57606a}
        .body{padding:.3em 1em 1em} table{border-collapse:collapse} td{padding:2px 8px;vertical-align:top}
        textarea{width:100%;min-height:8em;font-family:monospace} pre.response{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em}
        .tag-description{color:#57606a;margin:0}
        """

    static let script = """
        "use strict";
        const el = (name, attributes = {}, ...children) => {
          const node = document.createElement(name);
          for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
          for (const child of children) node.append(child);
          return node;
        };
        const credentials = ["user", "password"].map(id => document.getElementById(id));
        for (const input of credentials) {
          input.value = sessionStorage.getItem("socle." + input.id) || "";
          input.addEventListener("input", () => sessionStorage.setItem("socle." + input.id, input.value));
        }

        function parameterRows(operation) {
          return (operation.parameters || []).map(parameter => {
            const input = el("input", {"data-in": parameter.in, "data-name": parameter.name, placeholder: parameter.example || ""});
            if (parameter.in === "path" && parameter.example) input.value = parameter.example;
            return el("tr", {}, el("td", {}, el("code", {}, parameter.name)), el("td", {}, parameter.in + (parameter.required ? ", required" : "")),
              el("td", {}, input), el("td", {}, parameter.description || ""));
          });
        }

        async function send(method, path, panel, output) {
          let url = path, query = new URLSearchParams();
          const headers = new Headers();
          for (const input of panel.querySelectorAll("input[data-in]")) {
            const value = input.value, name = input.dataset.name;
            if (input.dataset.in === "path") url = url.replace("{" + name + "}", encodeURIComponent(value));
            else if (value === "") continue;
            else if (input.dataset.in === "query") query.append(name, value);
            else headers.set(name, value);
          }
          if (credentials[0].value) headers.set("Authorization", "Basic " + btoa(credentials[0].value + ":" + credentials[1].value));
          const options = {method, headers};
          const body = panel.querySelector("textarea");
          if (body && body.value !== "") {
            headers.set("Content-Type", panel.querySelector("select.content-type").value);
            options.body = body.value;
          }
          const target = url.replace(/^\\//, "") + (query.toString() ? "?" + query : "");
          output.textContent = method + " /" + target + " …";
          try {
            const response = await fetch(new URL(target, document.baseURI.replace(/docs([?#].*)?$/, "")), options);
            let text = await response.text();
            try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (notJSON) {}
            const lines = [...response.headers].map(([name, value]) => name + ": " + value);
            output.textContent = response.status + " " + response.statusText + "\\n" + lines.join("\\n") + "\\n\\n" + text;
            output.dataset.status = response.status;
          } catch (failure) {
            output.textContent = "The request failed: " + failure;
          }
        }

        function operationPanel(path, method, operation) {
          const label = method.toUpperCase() + " " + path;
          const panel = el("div", {class: "body"});
          const rows = parameterRows(operation);
          if (rows.length) panel.append(el("table", {}, ...rows));
          const content = Object.keys((operation.requestBody || {}).content || {});
          if (content.length) {
            const select = el("select", {class: "content-type"}, ...content.map(type => el("option", {}, type)));
            panel.append(el("p", {}, "Body ", select), el("textarea", {spellcheck: "false"}));
          }
          const output = el("pre", {class: "response"});
          const button = el("button", {type: "button", class: "send"}, "Send");
          button.addEventListener("click", () => send(method.toUpperCase(), path, panel, output));
          const responses = Object.entries(operation.responses || {}).map(([code, answer]) => code + " " + answer.description).join("; ");
          panel.append(el("p", {class: "responses"}, "Answers: " + responses), button, output);
          const security = operation.security && operation.security.length === 0 ? " (public)" : "";
          return el("details", {class: "op", "data-operation": label},
            el("summary", {}, el("span", {class: "method " + method}, method.toUpperCase()), el("span", {class: "path"}, path),
              el("span", {class: "summary"}, (operation.summary || "") + security)),
            panel);
        }

        function render(description) {
          const main = document.getElementById("operations");
          main.replaceChildren();
          const byTag = new Map((description.tags || []).map(tag => [tag.name, {tag, operations: []}]));
          for (const [path, item] of Object.entries(description.paths)) {
            for (const [method, operation] of Object.entries(item)) {
              const name = (operation.tags || ["Other"])[0];
              if (!byTag.has(name)) byTag.set(name, {tag: {name}, operations: []});
              byTag.get(name).operations.push(operationPanel(path, method, operation));
            }
          }
          for (const {tag, operations} of byTag.values()) {
            if (!operations.length) continue;
            main.append(el("section", {"data-tag": tag.name}, el("h2", {}, tag.name), el("p", {class: "tag-description"}, tag.description || ""), ...operations));
          }
          main.dataset.operations = main.querySelectorAll("details.op").length;
        }

        document.getElementById("filter").addEventListener("input", event => {
          const words = event.target.value.toLowerCase();
          for (const op of document.querySelectorAll("details.op")) op.hidden = words !== "" && !op.textContent.toLowerCase().includes(words);
        });

        fetch("openapi.json").then(response => response.json()).then(render).catch(failure => {
          document.getElementById("operations").textContent = "The API description could not be read: " + failure;
        });
        """
}
