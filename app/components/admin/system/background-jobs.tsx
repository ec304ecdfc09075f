import { Card } from "~/components/ui/card";
import { Link } from "@remix-run/react";
import type { ReactNode } from "react";

/**
 * The "Background jobs" section. `children` is the slot for a summary of the job queues
 * (backlog, last error); without one, the section only leads to /admin/jobs.
 */
export function BackgroundJobsSection({ children }: { children?: ReactNode }) {
  return (
    <Card as="section" padding="none" aria-labelledby="jobs-heading">
      <h2 id="jobs-heading" className="border-b border-border px-4 py-3 font-semibold">
        Background jobs
      </h2>
      {children}
      <p className="px-4 py-3 text-sm">
        <Link to="/admin/jobs" className="text-accent-text underline hover:text-accent-text">
          See the job queues
        </Link>
        : what is waiting, what failed and why.
      </p>
    </Card>
  );
}
