// A real OpenID Connect provider for the portal's tests: node provider.mjs PORT CLIENT SECRET REDIRECT
// Its development login form accepts any login; the account's `ins` claim is the login itself
// (the INS the tests type), as an identity provider of the health space would assert it. A login
// "A:B" is person A acting as the legal representative of patient B (the `represents` claim).
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { openid: ["sub"], ins: ["ins", "represents"], profile: ["name"] },
  scopes: ["openid", "ins", "profile"],
  conformIdTokenClaims: false, // the claims the scopes ask for go into the ID token too
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      const [person, represented] = id.split(":");
      const claims = { sub: `account-${id}`, ins: person, name: `Person ${person}` };
      return represented ? { ...claims, represents: represented } : claims;
    },
  }),
  cookies: { keys: ["tests-only-not-a-secret"] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
