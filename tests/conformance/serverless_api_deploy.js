// Deploy a small Serverless project with Twilio's own Node client, @twilio-labs/serverless-api,
// exactly as `twilio serverless:deploy` does (TwilioServerlessApiClient.deployProject), and
// print its DeployResult as JSON on stdout.
//
//     NODE_PATH=.ci/tools/serverless-api/node_modules node serverless_api_deploy.js SERVICE_NAME GREETING
//
// GREETING is the value of the GREETING variable. A second run with the same SERVICE_NAME
// redeploys to that service, as the CLI does with --override-existing-project.
//
// Credentials come from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN. The library always talks to
// https://serverless.twilio.com and https://serverless-upload.twilio.com; it is not changed
// here: the caller points it elsewhere with the HTTP_PROXY it honours.
"use strict";
const { TwilioServerlessApiClient } = require("@twilio-labs/serverless-api");

async function main(serviceName, greeting) {
  const client = new TwilioServerlessApiClient({
    username: process.env.TWILIO_ACCOUNT_SID,
    password: process.env.TWILIO_AUTH_TOKEN,
  });
  const result = await client.deployProject({
    serviceName,
    overrideExistingService: true,
    functionsEnv: "dev",
    pkgJson: { dependencies: { lodash: "^4.17.21", "@twilio/runtime-handler": "1.3.0" } },
    env: { GREETING: greeting },
    functions: [
      {
        name: "hello", path: "/hello", access: "public",
        content: "exports.handler = (context, event, callback) => callback(null, context.GREETING);\n",
      },
      {
        name: "secret", path: "/admin/secret", access: "protected",
        content: "exports.handler = (context, event, callback) => callback(null, { ok: true });\n",
      },
    ],
    assets: [
      { name: "style.css", path: "/style.css", access: "public", content: Buffer.from("body { color: red; }\n") },
    ],
  });
  process.stdout.write(JSON.stringify(result) + "\n");
}

main(process.argv[2], process.argv[3]).catch((err) => {
  console.error(`deployProject failed: ${err && (err.stack || err)}`);
  const body = err && err.response && err.response.body;
  if (body) console.error(`last response: ${typeof body === "string" ? body : JSON.stringify(body)}`);
  process.exit(1);
});
