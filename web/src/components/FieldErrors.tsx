import { useState } from "react";
import { ApiError } from "../lib/api";
import { failureMessage } from "../lib/format";

/**
 * The API's validation messages of a form, each shown beside the field it names ("" for the
 * form as a whole): `refused` takes a failed call, `clear` empties them, `problem` renders one
 * field's messages as alerts.
 */
export function useFieldErrors() {
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  return {
    refused: (error: Error) => setErrors(error instanceof ApiError && error.errors ? error.errors : { "": [failureMessage(error)] }),
    clear: () => setErrors({}),
    problem: (key: string) =>
      errors[key]?.map((text) => (
        <span key={text} className="error" role="alert">
          {text}
        </span>
      )),
  };
}
