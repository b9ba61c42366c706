import { lazy, type ComponentType, type LazyExoticComponent } from "react";

/**
 * A component whose code is loaded when first drawn (React.lazy) and can be loaded again after a
 * failure: React.lazy keeps a failed load for good, so `reload` starts over with a fresh one.
 * Used with ErrorBoundary's onRetry.
 */
export function reloadableLazy<P extends object>(load: () => Promise<{ default: ComponentType<P> }>) {
  let current: LazyExoticComponent<ComponentType<P>> = lazy(load);
  function Reloadable(props: P) {
    const Loaded = current;
    return <Loaded {...props} />;
  }
  return {
    Component: Reloadable,
    reload: () => {
      current = lazy(load);
    },
  };
}
