import { useState, type FormEvent } from "react";
import { api, ApiError, type Session } from "../lib/api";

/** Username and password, the API's own answer shown when it refuses. */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>("/auth/login", { method: "POST", body: JSON.stringify({ username, password }) }, null));
    } catch (refused) {
      setError(refused instanceof ApiError ? refused.message : "The gateway could not be reached");
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <h1>Alto</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
