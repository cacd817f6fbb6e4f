package dev.ember.cache.tiered;

import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.jmx.KnobMXBean;
import dev.ember.cache.knob.KnobChoice;
import dev.ember.cache.table.TableSpec;

/** {@code dev.ember:type=Knob} over a {@link TieredStore}: getters compute, setBudget forwards. */
final class KnobView implements KnobMXBean {
    private final TieredStore store;

    KnobView(TieredStore store) {
        this.store = store;
    }

    @Override
    public String getBudget() {
        return store.budget().toString();
    }

    @Override
    public void setBudget(String budget) {
        store.setBudget(BudgetText.parse(budget, "Knob.Budget"));
    }

    @Override
    public long getBudgetBytes() {
        return store.budgetBytes();
    }

    @Override
    public String getMode() {
        return store.config().resident() ? "resident" : store.config().mode().name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String[] getTables() {
        return store.tables().stream().map(TableSpec::name).toArray(String[]::new);
    }

    @Override
    public long[] getHotRows() {
        HotSet h = store.hotSet();
        long[] rows = new long[h.tableCount()];
        for (int t = 0; t < rows.length; t++) {
            rows[t] = h.hotRows(t);
        }
        return rows;
    }

    @Override
    public long getBytesUsed() {
        return store.hotSet().hotBytes();
    }

    @Override
    public double getObjective() {
        KnobChoice c = store.lastChoice();
        if (c == null) {
            return Double.NaN;
        }
        return store.config().mode() == dev.ember.cache.knob.KnobMode.FAE ? c.allHotRate() : c.hitRate();
    }

    @Override
    public long getEvaluations() {
        return store.knobEvaluations();
    }

    @Override
    public long getGeneration() {
        return store.hotSet().generation();
    }

    @Override
    public long getLastPromoted() {
        return store.lastPromoted();
    }

    @Override
    public long getLastDemoted() {
        return store.lastDemoted();
    }

    @Override
    public long getPromotedRows() {
        return store.hotSets().promotedRows();
    }

    @Override
    public long getDemotedRows() {
        return store.hotSets().demotedRows();
    }

    @Override
    public long getPendingMoves() {
        return store.hotSets().pendingPromotions() + store.hotSets().pendingDemotions();
    }

    @Override
    public double getLastRetierMillis() {
        return store.retierMillis();
    }

    @Override
    public double getLastStallMillis() {
        return store.stallMillis();
    }
}
