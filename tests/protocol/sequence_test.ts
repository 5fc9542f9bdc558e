import assert from "node:assert/strict";
import { ReplyCode } from "../../protocol/reply.ts";
import {
  mayBePreliminary,
  PRE_LOGIN_VERBS,
  ReplyExchange,
  ReplySequenceError,
  SessionSequence,
  TRANSFER_VERBS,
} from "../../protocol/sequence.ts";

function loggedIn(): SessionSequence {
  const seq = new SessionSequence();
  seq.complete("USER", ReplyCode.NeedPassword, "bob");
  seq.complete("PASS", ReplyCode.LoggedIn);
  return seq;
}

Deno.test("SessionSequence starts awaiting USER and refuses other commands with 530", () => {
  const seq = new SessionSequence();
  assert.equal(seq.login, "awaiting-user");
  assert.equal(seq.user, undefined);
  for (const verb of ["RETR", "STOR", "LIST", "CWD", "RNFR", "RNTO", "REST", "DELE", "PASV"]) {
    assert.equal(seq.check(verb)?.code, ReplyCode.NotLoggedIn, verb);
  }
  for (const verb of PRE_LOGIN_VERBS) {
    if (verb !== "PASS") assert.equal(seq.check(verb), undefined, verb);
  }
});

Deno.test("SessionSequence refuses PASS before USER with 503", () => {
  assert.equal(new SessionSequence().check("PASS")?.code, ReplyCode.BadSequence);
});

Deno.test("SessionSequence logs in with USER 331 then PASS 230", () => {
  const seq = new SessionSequence();
  assert.equal(seq.check("USER"), undefined);
  seq.complete("USER", ReplyCode.NeedPassword, "bob");
  assert.equal(seq.login, "awaiting-password");
  assert.equal(seq.user, "bob");
  assert.equal(seq.check("RETR")?.code, ReplyCode.NotLoggedIn);
  assert.equal(seq.check("PASS"), undefined);
  seq.complete("PASS", ReplyCode.LoggedIn);
  assert.equal(seq.login, "logged-in");
  assert.equal(seq.user, "bob");
  for (const verb of ["RETR", "STOR", "LIST", "CWD", "RNFR", "REST", "DELE"]) {
    assert.equal(seq.check(verb), undefined, verb);
  }
});

Deno.test("SessionSequence logs in directly on USER 230", () => {
  const seq = new SessionSequence();
  seq.complete("USER", ReplyCode.LoggedIn, "anonymous");
  assert.equal(seq.login, "logged-in");
  assert.equal(seq.user, "anonymous");
});

Deno.test("SessionSequence goes back to awaiting USER after a failed PASS", () => {
  const seq = new SessionSequence();
  seq.complete("USER", ReplyCode.NeedPassword, "bob");
  seq.complete("PASS", ReplyCode.NotLoggedIn);
  assert.equal(seq.login, "awaiting-user");
  assert.equal(seq.user, undefined);
  assert.equal(seq.check("PASS")?.code, ReplyCode.BadSequence);
  assert.equal(seq.check("RETR")?.code, ReplyCode.NotLoggedIn);
});

Deno.test("SessionSequence goes back to awaiting USER after a failed USER", () => {
  const seq = new SessionSequence();
  seq.complete("USER", ReplyCode.NotLoggedIn, "nobody");
  assert.equal(seq.login, "awaiting-user");
  assert.equal(seq.user, undefined);
});

Deno.test("SessionSequence refuses PASS while logged in with 503", () => {
  assert.equal(loggedIn().check("PASS")?.code, ReplyCode.BadSequence);
});

Deno.test("SessionSequence starts a new login on USER while logged in", () => {
  const seq = loggedIn();
  assert.equal(seq.check("USER"), undefined);
  seq.complete("USER", ReplyCode.NeedPassword, "alice");
  assert.equal(seq.login, "awaiting-password");
  assert.equal(seq.user, "alice");
  assert.equal(seq.check("RETR")?.code, ReplyCode.NotLoggedIn);
  seq.complete("PASS", ReplyCode.LoggedIn);
  assert.equal(seq.login, "logged-in");
  assert.equal(seq.user, "alice");
});

Deno.test("SessionSequence logs out on REIN and forgets REST", () => {
  const seq = loggedIn();
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 100);
  seq.complete("REIN", ReplyCode.ServiceReady);
  assert.equal(seq.login, "awaiting-user");
  assert.equal(seq.user, undefined);
  assert.equal(seq.restartOffset, 0);
});

Deno.test("SessionSequence requires RNFR right before RNTO", () => {
  const seq = loggedIn();
  assert.equal(seq.check("RNTO")?.code, ReplyCode.BadSequence);
  seq.complete("RNFR", ReplyCode.PendingFurtherInfo, "/a.txt");
  assert.equal(seq.renameFrom, "/a.txt");
  assert.equal(seq.check("RNTO"), undefined);
  seq.complete("RNTO", ReplyCode.FileActionOk);
  assert.equal(seq.renameFrom, undefined);
  assert.equal(seq.check("RNTO")?.code, ReplyCode.BadSequence);
});

Deno.test("SessionSequence forgets RNFR after any other command", () => {
  const seq = loggedIn();
  seq.complete("RNFR", ReplyCode.PendingFurtherInfo, "/a.txt");
  seq.complete("NOOP", ReplyCode.Ok);
  assert.equal(seq.renameFrom, undefined);
  assert.equal(seq.check("RNTO")?.code, ReplyCode.BadSequence);
});

Deno.test("SessionSequence forgets RNFR after a failed RNFR", () => {
  const seq = loggedIn();
  seq.complete("RNFR", ReplyCode.PendingFurtherInfo, "/a.txt");
  seq.complete("RNFR", ReplyCode.FileUnavailable, "/missing");
  assert.equal(seq.renameFrom, undefined);
  seq.complete("RNFR", ReplyCode.PendingFurtherInfo, "/b.txt");
  seq.complete("RNFR", ReplyCode.PendingFurtherInfo, "/c.txt");
  assert.equal(seq.renameFrom, "/c.txt");
});

Deno.test("SessionSequence refuses RNTO with 530 before login", () => {
  const seq = new SessionSequence();
  assert.equal(seq.check("RNTO")?.code, ReplyCode.NotLoggedIn);
});

Deno.test("SessionSequence keeps the REST offset across other commands", () => {
  const seq = loggedIn();
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 1000);
  for (const verb of ["NOOP", "TYPE", "PASV", "CWD", "SIZE", "RNFR"]) {
    seq.complete(verb, ReplyCode.Ok);
    assert.equal(seq.restartOffset, 1000, verb);
  }
  assert.equal(seq.offsetFor("RETR"), 1000);
});

Deno.test("SessionSequence lets a transfer consume the REST offset, even a failed one", () => {
  for (const verb of TRANSFER_VERBS) {
    for (const code of [ReplyCode.ClosingData, ReplyCode.FileUnavailable]) {
      const seq = loggedIn();
      seq.complete("REST", ReplyCode.PendingFurtherInfo, 42);
      seq.complete(verb, code);
      assert.equal(seq.restartOffset, 0, `${verb} ${code}`);
      assert.equal(seq.offsetFor("RETR"), 0, `${verb} ${code}`);
    }
  }
});

Deno.test("SessionSequence ignores a refused REST and keeps the last offset", () => {
  const seq = loggedIn();
  seq.complete("REST", ReplyCode.ArgumentSyntaxError, "abc");
  assert.equal(seq.restartOffset, 0);
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 7);
  seq.complete("REST", ReplyCode.ArgumentSyntaxError, "abc");
  assert.equal(seq.restartOffset, 7);
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 0);
  assert.equal(seq.restartOffset, 0);
});

Deno.test("SessionSequence.offsetFor() applies only to RETR, STOR and APPE", () => {
  const seq = loggedIn();
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 512);
  for (const verb of ["RETR", "STOR", "APPE"]) assert.equal(seq.offsetFor(verb), 512, verb);
  for (const verb of ["LIST", "NLST", "MLSD", "STOU", "NOOP"]) {
    assert.equal(seq.offsetFor(verb), 0, verb);
  }
  assert.equal(new SessionSequence().offsetFor("RETR"), 0);
});

Deno.test("ReplyExchange accepts 150 then 226 for a transfer", () => {
  const exchange = new ReplyExchange("retr");
  assert.equal(exchange.verb, "RETR");
  assert.equal(exchange.accept({ code: 150, lines: ["Opening"] }), "preliminary");
  assert.equal(exchange.final, undefined);
  assert.equal(exchange.accept({ code: 226, lines: ["Done"] }), "final");
  assert.deepEqual(exchange.preliminaries, [{ code: 150, lines: ["Opening"] }]);
  assert.deepEqual(exchange.final, { code: 226, lines: ["Done"] });
});

Deno.test("ReplyExchange accepts several preliminaries before a final failure", () => {
  const exchange = new ReplyExchange("STOR");
  assert.equal(exchange.accept({ code: 125, lines: ["Already open"] }), "preliminary");
  assert.equal(exchange.accept({ code: 110, lines: ["MARK"] }), "preliminary");
  assert.equal(exchange.accept({ code: 426, lines: ["Aborted"] }), "final");
  assert.equal(exchange.preliminaries.length, 2);
});

Deno.test("ReplyExchange accepts a direct final reply for any verb", () => {
  for (const code of [200, 331, 450, 550]) {
    const exchange = new ReplyExchange("RETR");
    assert.equal(exchange.accept({ code, lines: [""] }), "final");
  }
});

Deno.test("ReplyExchange throws on a 1xx reply to a non-transfer verb", () => {
  for (const verb of ["NOOP", "USER", "CWD", "REST", "?"]) {
    const exchange = new ReplyExchange(verb);
    assert.throws(() => exchange.accept({ code: 150, lines: [""] }), ReplySequenceError, verb);
  }
});

Deno.test("ReplyExchange throws on a reply after the final one", () => {
  const exchange = new ReplyExchange("NOOP");
  exchange.accept({ code: 200, lines: ["ok"] });
  assert.throws(() => exchange.accept({ code: 200, lines: ["again"] }), ReplySequenceError);
  const transfer = new ReplyExchange("LIST");
  transfer.accept({ code: 226, lines: ["Done"] });
  assert.throws(() => transfer.accept({ code: 150, lines: ["late"] }), ReplySequenceError);
});

Deno.test("ReplyExchange for the greeting accepts 120 then 220", () => {
  const greeting = new ReplyExchange("");
  assert.equal(greeting.verb, "");
  assert.equal(greeting.accept({ code: 120, lines: ["Soon"] }), "preliminary");
  assert.equal(greeting.accept({ code: 220, lines: ["Ready"] }), "final");
  assert.throws(
    () => greeting.accept({ code: 220, lines: ["Again"] }),
    (error: unknown) => error instanceof ReplySequenceError && /greeting/.test(error.message),
  );
});

Deno.test("ReplyExchange rejects an invalid reply code", () => {
  assert.throws(() => new ReplyExchange("NOOP").accept({ code: 600, lines: [""] }), RangeError);
});

Deno.test("mayBePreliminary() allows the greeting, REIN and transfer verbs only", () => {
  assert.ok(mayBePreliminary(""));
  assert.ok(mayBePreliminary("REIN"));
  for (const verb of TRANSFER_VERBS) assert.ok(mayBePreliminary(verb), verb);
  for (const verb of ["NOOP", "PASV", "REST", "DELE"]) assert.ok(!mayBePreliminary(verb), verb);
});

Deno.test("SessionSequence resets the login only for a REIN that was carried out", () => {
  const seq = new SessionSequence();
  seq.complete("USER", ReplyCode.NeedPassword, "alice");
  seq.complete("PASS", ReplyCode.LoggedIn);
  seq.complete("REST", ReplyCode.PendingFurtherInfo, 10);
  seq.complete("REIN", ReplyCode.NotImplemented);
  assert.equal(seq.login, "logged-in");
  assert.equal(seq.user, "alice");
  assert.equal(seq.restartOffset, 10);
  seq.complete("REIN", ReplyCode.ServiceReady);
  assert.equal(seq.login, "awaiting-user");
  assert.equal(seq.user, undefined);
  assert.equal(seq.restartOffset, 0);
});
