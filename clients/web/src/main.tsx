import { render } from "preact";
import { App } from "./app";
import { startInbox } from "./lib/inbox";
import { startOutbox } from "./lib/outbox";
import { startPush } from "./lib/push";
import { startRouter } from "./lib/router";
import "./styles.css";

startRouter();
render(<App />, document.getElementById("app")!);
performance.mark("cityhub:interactive"); // the shell is rendered and handles input
startInbox();
startOutbox();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => undefined);
}
startPush();
