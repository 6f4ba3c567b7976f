// Run by the compose `mongo-init` job (mongosh, as the root user `admin`, against mongo-1).
// Idempotent: initiates the replica set once, then creates or updates Kwont's users.
const members = [
  { _id: 0, host: "mongo-1:27017", priority: 2 },
  { _id: 1, host: "mongo-2:27017", priority: 1 },
];
try {
  rs.status();
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
  rs.initiate({ _id: "rs0", members });
}
// Users are written on the primary: wait until this node is it.
for (let i = 0; i < 120 && !db.hello().isWritablePrimary; i++) sleep(500);
if (!db.hello().isWritablePrimary) throw new Error("mongo-1 did not become primary");

const admin = db.getSiblingDB("admin");
const users = {
  kwont_app: {
    pwd: process.env.KWONT_MONGO_APP_PASSWORD,
    roles: [{ role: "readWrite", db: "kwont" }, { role: "readWrite", db: "ohlcv" }],
  },
  backtest_readonly: {
    pwd: process.env.KWONT_MONGO_READONLY_PASSWORD,
    roles: [{ role: "read", db: "ohlcv" }],
  },
};
for (const [name, spec] of Object.entries(users)) {
  if (admin.getUser(name)) admin.updateUser(name, spec);
  else admin.createUser({ user: name, ...spec });
  print(`mongo-init: user ${name} ready`);
}
