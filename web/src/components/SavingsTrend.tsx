import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatBytes, formatMoney } from "../lib/format";

export interface TrendDay {
  day: string;
  stubbedBytes: number;
  savings: number;
}

/**
 * The savings trend: what each day's stubs saved and how many bytes were stubbed, day by day.
 * The figures are also in a table for screen readers (a chart alone says nothing to them).
 */
export default function SavingsTrend({ days, currency }: { days: TrendDay[]; currency: string }) {
  return (
    <figure className="trend" aria-label="Savings trend">
      <div aria-hidden="true" style={{ width: "100%", height: 200 }}>
        <ResponsiveContainer>
          <AreaChart data={days} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" tickFormatter={(day: string) => day.slice(5)} minTickGap={24} />
            <YAxis yAxisId="bytes" tickFormatter={(bytes: number) => formatBytes(bytes)} width={72} />
            <YAxis yAxisId="money" orientation="right" tickFormatter={(amount: number) => formatMoney(amount, currency)} width={72} />
            <Tooltip formatter={(value, name) => (name === "Stubbed" ? formatBytes(Number(value)) : formatMoney(Number(value), currency))} />
            <Area yAxisId="bytes" type="monotone" dataKey="stubbedBytes" name="Stubbed" stroke="#2b4e73" fill="#cfe0f2" isAnimationActive={false} />
            <Area yAxisId="money" type="monotone" dataKey="savings" name="Saved that day" stroke="#2d7d46" fill="#d3f2dc" isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      </div>
      <figcaption>
        Stubbed bytes and savings a day over the last {days.length} days; now {formatBytes(days.at(-1)?.stubbedBytes ?? 0)} stubbed.
      </figcaption>
      <table className="visually-hidden">
        <caption>Savings a day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">Stubbed</th>
            <th scope="col">Saved</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.day}>
              <td>{day.day}</td>
              <td>{formatBytes(day.stubbedBytes)}</td>
              <td>{formatMoney(day.savings, currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
