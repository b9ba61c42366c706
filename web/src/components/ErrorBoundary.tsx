import { Component, type ReactNode } from "react";

interface Props {
  /** What the part shows, as the message names it ("the savings chart"). */
  what: string;
  /** Called before the part is drawn again (a lazy part loads its code anew). */
  onRetry?: () => void;
  children: ReactNode;
}

interface State {
  error: Error | null;
}

/**
 * Keeps a failure inside one part of the console. Without it, an error while drawing (a chart's
 * code that could not be fetched over a failing link) makes React remove the whole console, its
 * header and its live connection with it; with it, the part says what failed and offers to try
 * again while the rest keeps working.
 */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  private readonly retry = () => {
    this.props.onRetry?.();
    this.setState({ error: null });
  };

  render() {
    if (!this.state.error) {
      return this.props.children;
    }
    return (
      <div role="alert" className="failed-part">
        <p>
          {capitalized(this.props.what)} could not be shown: {this.state.error.message}
        </p>
        <button type="button" onClick={this.retry}>
          Try again
        </button>
      </div>
    );
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
