const { execSync } = require("child_process");
// ruleid: SKS-EXEC-003
eval(Buffer.from("Y29uc29sZS5sb2coMSk=", "base64").toString());
// ruleid: SKS-EXEC-003
execSync(Buffer.from(payload, "base64").toString("utf8"));
// ruleid: SKS-EXEC-003
new Function(atob("cmV0dXJuIDE="))();
// ok: SKS-EXEC-003
const png = Buffer.from(imageBytes).toString("base64");
// ok: SKS-EXEC-003
execSync("git status");
