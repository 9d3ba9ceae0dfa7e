// A small program a mobile or web developer would write against yijing, typed by the types openapi-typescript
// generates from the API's OpenAPI document (./schema.ts, written by the test beside this file). tsc --strict
// must accept it: every response it reads has the type of what the API sends.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

// Response headers are typed: a client reads them without a cast.
type HazardHeaders = paths["/api/v1/hazards/{hazard_id}"]["get"]["responses"][200]["headers"];
type ReportedHeaders = paths["/api/v1/hazards"]["post"]["responses"][201]["headers"];
type RefusedHeaders = paths["/api/v1/hazards"]["post"]["responses"][401]["headers"];
export function headerValues(read: HazardHeaders, reported: ReportedHeaders, refused: RefusedHeaders): string[] {
  const values: (string | undefined)[] = [read.ETag, read["X-Request-ID"], reported.Location, refused["WWW-Authenticate"]];
  return values.filter((value): value is string => value !== undefined);
}

export async function flow(baseUrl: string, phone: string, password: string, siteId: string): Promise<string[]> {
  const client = createClient<paths>({ baseUrl });
  const seen: string[] = [];

  // Sign in (OAuth2 password form).
  const signedIn = await client.POST("/api/v1/auth/token", {
    body: { username: phone, password },
    bodySerializer: (body) => new URLSearchParams({ username: body.username, password: body.password }),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (signedIn.error) throw new Error(signedIn.error.code);
  const headers = { Authorization: `Bearer ${signedIn.data.access_token}`, "Accept-Language": "en" };

  // Every volunteer, a page at a time.
  let cursor: string | undefined;
  do {
    const page = await client.GET("/api/v1/volunteers", { params: { query: { limit: 50, cursor } }, headers });
    if (page.error) throw new Error(`${page.error.code}: ${page.error.detail ?? ""}`);
    seen.push(...page.data.items.map((volunteer: Schemas["VolunteerRead"]) => volunteer.name));
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor !== undefined);

  // A hazard reported, then sent again after a lost answer: the stored report comes back, typed.
  const report: Schemas["HazardCreate"] = {
    site_id: siteId,
    category: "fire",
    description: "夜市 3 号摊位液化气罐紧挨油锅",
    client_id: crypto.randomUUID(),
  };
  const sent = await client.POST("/api/v1/hazards", { body: report, headers: { ...headers, "Idempotency-Key": "report-1" } });
  if (sent.error) throw new Error(sent.error.errors?.map((error) => `${error.field}: ${error.message}`).join("; "));
  const hazard: Schemas["HazardRead"] = sent.data;
  const resent = await client.POST("/api/v1/hazards", { body: report, headers });
  if (resent.data === undefined) throw new Error("the resend lost its body");
  const stored: Schemas["HazardRead"] = resent.data;
  seen.push(hazard.id, stored.id, sent.response.headers.get("Location") ?? "");

  // Its first photo, as a Blob.
  const attachments = await client.GET("/api/v1/hazards/{hazard_id}/attachments", {
    params: { path: { hazard_id: hazard.id } },
    headers,
  });
  for (const attachment of attachments.data ?? []) {
    const photo = await client.GET("/api/v1/hazards/{hazard_id}/attachments/{attachment_id}", {
      params: { path: { hazard_id: hazard.id, attachment_id: attachment.id } },
      headers,
      parseAs: "blob",
    });
    const size: number = photo.data?.size ?? 0;
    seen.push(String(size));
  }

  // Statistics: the JSON, and the same figures as CSV text.
  const figures = await client.GET("/api/v1/stats/incidents", { params: { query: { period: "2023-10" } }, headers });
  if (figures.error) throw new Error(figures.error.code);
  const total: number | null = figures.data.total.current;
  const yearOnYear: number | null | undefined = figures.data.rows[0]?.yoy?.percent;
  seen.push(`${figures.data.period.label}: ${total ?? "missing"} (${yearOnYear ?? "-"} %)`);
  const table = await client.GET("/api/v1/stats/incidents/export", {
    params: { query: { period: "2023-10", format: "csv" } },
    headers,
    parseAs: "text",
  });
  if (table.data !== undefined) seen.push(table.data.split("\r\n")[0] ?? "");
  return seen;
}
