// A real, certified OpenID Provider (panva/oidc-provider) for the tests: never a hand-made fake.
// Configured by environment: OIDC_PORT, OIDC_CLIENT (JSON: client_id, client_secret,
// redirect_uris) and OIDC_ACCOUNTS (JSON: login -> {email, email_verified}). Its development
// login page accepts any password for a listed login.
import Provider from "oidc-provider";


const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const client = JSON.parse(process.env.OIDC_CLIENT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);

const provider = new Provider(issuer, {
  clients: [
    {
      ...client,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});
provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider ${issuer}`);
});
